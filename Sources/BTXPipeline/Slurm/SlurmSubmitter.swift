import BTXStore
import Foundation

/// Runs an external program (sbatch, squeue); tests can stand in a fake.
public protocol CommandRunner {
    /// Runs `executable` with `arguments`, feeding `input` on standard input; returns status and output.
    func run(_ executable: String, _ arguments: [String], input: Data?) throws -> (status: Int32, stdout: String, stderr: String)
}

/// Why talking to Slurm failed.
public enum SlurmError: Error, CustomStringConvertible, Equatable {
    /// sbatch refused a job.
    case submitFailed(job: String, status: Int32, message: String)
    /// sbatch printed something that is not a job id.
    case unexpectedOutput(command: String, output: String)

    public var description: String {
        switch self {
        case .submitFailed(let job, let status, let message):
            return "sbatch refused job \(job) (exit \(status)): \(message)"
        case .unexpectedOutput(let command, let output):
            return "\(command) printed \"\(output)\", expected a job id"
        }
    }
}

/// What every job of a submission runs and asks Slurm for.
public struct SlurmSettings: Sendable {
    /// The btxpipe executable the jobs run (absolute).
    public var executable: String
    /// The pipeline spec (absolute).
    public var pipeline: String
    /// The store each job uses (absolute).
    public var store: String
    /// `--remote` values passed on to `btxpipe run`: the shared remote through which jobs exchange artifacts.
    public var remotes: [String]
    /// Where job logs go (`%x-%A_%a.out`).
    public var logDirectory: String
    /// `--partition`, `--time`, `--cpus-per-task`, `--mem`.
    public var partition: String?
    public var time: String?
    public var cpus: Int?
    public var memory: String?
    /// `--set PATH=VALUE` overrides passed on to `btxpipe run`, so jobs run the spec the submitter planned.
    public var overrides: [String] = []

    /// Settings for jobs running `executable` on `pipeline` with `store` and `remotes`.
    public init(executable: String, pipeline: String, store: String, remotes: [String], logDirectory: String) {
        self.executable = executable
        self.pipeline = pipeline
        self.store = store
        self.remotes = remotes
        self.logDirectory = logDirectory
    }
}

/// A submitted job: its Slurm id and the stages its tasks run (task i runs `stages[i]` of an array).
public struct SubmittedJob: Codable, Equatable, Sendable {
    /// The (array) job id.
    public var id: String
    /// The job name.
    public var name: String
    /// The stage instances, in task order.
    public var stages: [String]
    /// Whether `id` is an array job (its tasks are `id_0`, `id_1`, …).
    public var isArray: Bool

    /// The Slurm id that runs `stage` ("123", or "123_2" for task 2 of array 123).
    public func taskID(of stage: String) -> String? {
        guard let index = stages.firstIndex(of: stage) else { return nil }
        return isArray ? "\(id)_\(index)" : id
    }
}

/// Submits `SlurmPlan` jobs with sbatch (`afterok` dependencies, `--kill-on-invalid-dep=yes`).
public struct SlurmSubmitter {
    /// Runs sbatch.
    public let commands: CommandRunner
    /// What the jobs run.
    public let settings: SlurmSettings

    /// A submitter using `commands` and `settings`.
    public init(commands: CommandRunner, settings: SlurmSettings) {
        self.commands = commands
        self.settings = settings
    }

    /// Submits `jobs` in order (dependencies first); returns them with their ids.
    public func submit(_ jobs: [SlurmJob]) throws -> [SubmittedJob] {
        var submitted: [SubmittedJob] = []
        for job in jobs {
            let arguments = sbatchArguments(job, dependencies: job.dependencies.map { submitted[$0].id })
            let result = try commands.run("sbatch", arguments, input: Data(script(job).utf8))
            guard result.status == 0 else {
                throw SlurmError.submitFailed(job: job.name, status: result.status, message: result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            // --parsable prints "ID" or "ID;CLUSTER".
            let id = String(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first ?? "")
            guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
                throw SlurmError.unexpectedOutput(command: "sbatch", output: result.stdout)
            }
            submitted.append(SubmittedJob(id: id, name: job.name, stages: job.stages, isArray: job.isArray))
        }
        return submitted
    }

    /// sbatch's arguments for `job` (the script comes on standard input).
    func sbatchArguments(_ job: SlurmJob, dependencies: [String]) -> [String] {
        var arguments = ["--parsable", "--job-name=\(job.name)", "--kill-on-invalid-dep=yes",
                         "--output=\(settings.logDirectory)/%x-%A_%a.out"]
        if !dependencies.isEmpty { arguments.append("--dependency=afterok:\(dependencies.joined(separator: ":"))") }
        if job.isArray { arguments.append("--array=0-\(job.stages.count - 1)") }
        if let partition = settings.partition { arguments.append("--partition=\(partition)") }
        if let time = settings.time { arguments.append("--time=\(time)") }
        if let cpus = settings.cpus { arguments.append("--cpus-per-task=\(cpus)") }
        if let memory = settings.memory { arguments.append("--mem=\(memory)") }
        return arguments
    }

    /// The batch script: pick this task's stage and run just it against the remote.
    func script(_ job: SlurmJob) -> String {
        let remotes = (settings.remotes.flatMap { ["--remote", Self.quote($0)] }
                       + settings.overrides.flatMap { ["--set", Self.quote($0)] }).joined(separator: " ")
        return """
        #!/bin/bash
        # btxpipe submit: \(job.name)
        set -euo pipefail
        stages=(\(job.stages.map(Self.quote).joined(separator: " ")))
        stage="${stages[${SLURM_ARRAY_TASK_ID:-0}]}"
        exec \(Self.quote(settings.executable)) run \(Self.quote(settings.pipeline)) --store \(Self.quote(settings.store)) \
        --only "$stage" \(remotes) -j 1

        """
    }

    /// `text` as one single-quoted shell word.
    static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
