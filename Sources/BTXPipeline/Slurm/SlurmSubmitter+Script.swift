import Foundation

extension SlurmSubmitter {
    /// The exit status of `btxpipe run` after it checkpointed its stage on SIGINT/SIGTERM.
    static let interruptedStatus = 130

    /// The batch script: pick this task's stage and run just it against the store (and remotes).
    ///
    /// Slurm sends TERM to this shell `grace` seconds before the time limit (`--signal=B:TERM@grace`).
    /// The shell forwards it to btxpipe, which checkpoints its stage into the store and exits 130; the
    /// shell then requeues its own job (`--requeue` makes that allowed), and the requeued job, on any
    /// node, resumes the stage from the checkpoint. A job cancelled with `scancel` (which sends TERM
    /// too) is not requeued: squeue already shows it CANCELLED rather than RUNNING.
    // NOTE: btxpipe runs in the background and the shell `wait`s: a shell running a foreground child
    // only runs its TERM trap after the child exits, which would be after the time limit.
    func script(_ job: SlurmJob) -> String {
        let remotes = (settings.remotes.flatMap { ["--remote", Self.quote($0)] }
                       + settings.overrides.flatMap { ["--set", Self.quote($0)] }).joined(separator: " ")
        return """
        #!/bin/bash
        # btxpipe submit: \(job.name)
        set -uo pipefail
        stages=(\(job.stages.map(Self.quote).joined(separator: " ")))
        stage="${stages[${SLURM_ARRAY_TASK_ID:-0}]}"
        echo "btxpipe: job ${SLURM_JOB_ID:-?} on $(hostname), start $(date -u +%FT%TZ), restart ${SLURM_RESTART_COUNT:-0}: $stage"
        child="" term=0
        trap 'term=1; echo "btxpipe: TERM before the time limit: checkpointing $stage"; [ -n "$child" ] && kill -TERM "$child"' TERM
        \(Self.quote(settings.executable)) run \(Self.quote(settings.pipeline)) --store \(Self.quote(settings.store)) \
        --only "$stage" \(remotes) -j 1 &
        child=$!
        wait "$child"; status=$?
        # A trapped TERM interrupts `wait`: wait again for btxpipe's own status (bash keeps it once it exited).
        for _ in 1 2 3; do
            [ "$term" = 1 ] || break
            wait "$child"; status=$?
            kill -0 "$child" 2>/dev/null || break
        done
        if [ "$term" = 1 ] && [ "$status" = \(Self.interruptedStatus) ]; then
            # scancel sends TERM too, but marks the job CANCELLED first: only a RUNNING job is requeued.
            state=$(squeue -h -j "${SLURM_JOB_ID:-}" -o %T 2>/dev/null)
            if [ "$state" = RUNNING ]; then
                echo "btxpipe: $stage checkpointed at $(date -u +%FT%TZ); requeueing job ${SLURM_JOB_ID:-?}"
                scontrol requeue "${SLURM_JOB_ID:-}" && exit 0
            else
                echo "btxpipe: $stage checkpointed; job ${SLURM_JOB_ID:-?} is ${state:-gone}: not requeued"
            fi
        fi
        exit "$status"

        """
    }

    /// `text` as one single-quoted shell word.
    static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
