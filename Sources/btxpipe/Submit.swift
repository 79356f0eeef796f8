import ArgumentParser
import BTXPipeline
import BTXStages
import BTXStore
import Foundation

/// `btxpipe submit PIPELINE --executor slurm [--remote R] [--profile FILE] …`: every uncached stage
/// becomes a Slurm job.
struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit the uncached stages as cluster jobs sharing artifacts through the store or a remote.",
        discussion: """
        Each stage becomes a job running `btxpipe run PIPELINE --only STAGE [--remote …]`; a fan-out becomes \
        one job array; jobs wait for their inputs' jobs (afterok, --kill-on-invalid-dep=yes). Without \
        --remote the store must be on a filesystem every node sees (a node-local path such as /tmp is \
        refused unless --single-node). Resources: the profile, then the pipeline's `slurm:`, then these \
        options, then each stage's `resources:`. Jobs get TERM `grace` seconds before their time limit, \
        checkpoint and requeue themselves. `btxpipe status PIPELINE` shows the jobs, `btxpipe cancel \
        PIPELINE` cancels them.
        """)

    /// Where stages run.
    enum Executor: String, ExpressibleByArgument, CaseIterable { case slurm }

    @OptionGroup var options: PipelineOptions
    @OptionGroup var remoteOptions: RemoteOptions

    @Option(help: "Where the stages run.") var executor: Executor = .slurm
    @Option(help: "Slurm partition.") var partition: String?
    @Option(help: "Slurm time limit per job, e.g. 2:00:00.") var time: String?
    @Option(help: "CPUs per job.") var cpus: Int?
    @Option(help: "Memory per job, e.g. 8G.") var mem: String?
    @Option(help: "Generic resources per job, e.g. gpu:1.") var gres: String?
    @Option(help: "Slurm account.") var account: String?
    @Option(help: "Slurm quality of service.") var qos: String?
    @Option(help: "Seconds of warning (TERM) before the time limit, to checkpoint and requeue.") var grace: Int?
    @Option(help: "A Slurm profile: a YAML file with the keys of the pipeline's `slurm:` (partition, time, cpus, mem, gres, account, qos, grace, sbatch_args).")
    var profile: String?
    @Flag(help: "Every job runs on this machine: accept a node-local store (such as one under /tmp) without --remote.")
    var singleNode = false

    @Argument(help: "Stages to submit with what they need (default: all).")
    var stages: [String] = []

    func validate() throws {
        if let cpus, cpus < 1 { throw ValidationError("--cpus must be at least 1") }
        if let grace, !(1...65_535).contains(grace) { throw ValidationError("--grace must be in 1...65535 seconds") }
        if let time, SlurmResources.seconds(ofSlurmTime: time) == nil {
            throw ValidationError("--time \(time) is not a Slurm time (\"30\" minutes, HH:MM:SS, D-HH:MM:SS)")
        }
    }

    /// The resources every job asks for: the profile, the pipeline's `slurm:`, then the options.
    private func defaults(_ spec: PipelineSpec) throws -> SlurmResources {
        var options = SlurmResources()
        (options.partition, options.time, options.cpus, options.mem) = (partition, time, cpus, mem)
        (options.gres, options.account, options.qos, options.grace) = (gres, account, qos, grace)
        let base: SlurmResources
        do { base = try profile.map { try SlurmResources.load(profile: $0) } ?? SlurmResources() } catch {
            throw CommandFailure.usage("\(error)")
        }
        return base.overlaid(by: spec.slurm).overlaid(by: options)
    }

    /// Without a remote, jobs share the store itself: refuse one that other nodes cannot see.
    private func checkStoreIsShared(_ store: String) throws {
        guard remoteOptions.remote.isEmpty, !singleNode, let reason = NodeLocalPath.reason(store) else { return }
        throw CommandFailure.usage("""
            the store must be on a filesystem every node sees when jobs share no --remote: \(reason); \
            use a store on a shared filesystem (--store DIR), a --remote, or --single-node if every job runs on this machine
            """)
    }

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let steps: [PlanStep]
            do {
                let cache = try remoteOptions.cache(for: session.spec, push: false, defaultAll: false, verbosity: options.verbosity)
                // NOTE: ask the remote which stages it has, without pulling their artifacts here.
                let state = PullingState(local: session.state) { key in (try? cache?.peek(key)) ?? nil }
                steps = try session.planner.plan(targets: stages, state: state)
            } catch { throw CommandFailure.usage("\(error)") }
            let jobs = SlurmPlan.jobs(spec: session.spec, steps: steps)
            guard !jobs.isEmpty else { print("everything is cached: nothing to submit"); return }
            try checkStoreIsShared(session.store.root.path)
            let logs = session.store.root.appendingPathComponent("slurm-logs").path
            try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            var settings = SlurmSettings(executable: Self.executablePath(), pipeline: Self.absolute(options.pipeline),
                                         store: session.store.root.path, remotes: remoteOptions.remote, logDirectory: logs)
            settings.defaults = try defaults(session.spec)
            settings.overrides = options.overrides
            let submitted: [SubmittedJob]
            do { submitted = try SlurmSubmitter(commands: ProcessRunner(), settings: settings).submit(jobs) } catch {
                throw CommandFailure.failed("\(error)")
            }
            try SlurmJobs(store: session.store, pipeline: session.spec.name).save(submitted)
            for job in submitted {
                let tasks = job.stages.map { "\(job.taskID(of: $0)!) \($0)" }.joined(separator: ", ")
                print("\(job.id)  \(job.name)  \(tasks)")
            }
        }
    }

    /// This program's own path, for the jobs to run.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? absolute(CommandLine.arguments[0])
    }

    /// `path` made absolute against the current directory.
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
