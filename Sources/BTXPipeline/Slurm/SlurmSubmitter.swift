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
    /// squeue or scancel failed.
    case commandFailed(command: String, status: Int32, message: String)
    /// A job's warning before its time limit is not shorter than the limit itself.
    case graceTooLong(job: String, grace: Int, time: String)

    public var description: String {
        switch self {
        case .submitFailed(let job, let status, let message):
            return "sbatch refused job \(job) (exit \(status)): \(message)"
        case .unexpectedOutput(let command, let output):
            return "\(command) printed \"\(output)\", expected a job id"
        case .commandFailed(let command, let status, let message):
            return "\(command) failed (exit \(status)): \(message)"
        case .graceTooLong(let job, let grace, let time):
            return "job \(job): grace \(grace) s is not shorter than its time limit \(time); raise `time` or lower `grace`"
        }
    }
}

/// What every job of a submission runs and asks Slurm for.
public struct SlurmSettings: Sendable {
    /// The btxpipe executable the jobs run (absolute).
    public var executable: String
    /// The pipeline spec (absolute).
    public var pipeline: String
    /// The store each job uses (absolute): on a shared filesystem, or node-local when `remotes` carry the artifacts.
    public var store: String
    /// `--remote` values passed on to `btxpipe run`: the shared remote through which jobs exchange
    /// artifacts; empty when the store itself is on a filesystem every node sees.
    public var remotes: [String]
    /// Where job logs go (`%x-%j.out`, or `%x-%A_%a.out` for an array task).
    public var logDirectory: String
    /// What every job asks for (profile, then the pipeline's `slurm:`, then the command line), beneath
    /// each stage's own `resources:`.
    public var defaults = SlurmResources()
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
    /// The directory of its logs (nil in records written before logs were recorded).
    public var logDirectory: String?

    /// A job record.
    public init(id: String, name: String, stages: [String], isArray: Bool, logDirectory: String? = nil) {
        self.id = id
        self.name = name
        self.stages = stages
        self.isArray = isArray
        self.logDirectory = logDirectory
    }

    /// The log file of the task running `stage` (Slurm's `%x-%j.out` / `%x-%A_%a.out`).
    public func logPath(of stage: String) -> String? {
        guard let logDirectory, let index = stages.firstIndex(of: stage) else { return nil }
        return "\(logDirectory)/\(name)-" + (isArray ? "\(id)_\(index).out" : "\(id).out")
    }

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
            let arguments = try sbatchArguments(job, dependencies: job.dependencies.map { submitted[$0].id })
            let result = try commands.run("sbatch", arguments, input: Data(script(job).utf8))
            guard result.status == 0 else {
                throw SlurmError.submitFailed(job: job.name, status: result.status, message: result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            // --parsable prints "ID" or "ID;CLUSTER".
            let id = String(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first ?? "")
            guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
                throw SlurmError.unexpectedOutput(command: "sbatch", output: result.stdout)
            }
            submitted.append(SubmittedJob(id: id, name: job.name, stages: job.stages, isArray: job.isArray,
                                          logDirectory: settings.logDirectory))
        }
        return submitted
    }

    /// sbatch's arguments for `job` (the script comes on standard input): its name, log, dependencies and
    /// array, the TERM warning before the time limit and requeueing, then its resources.
    func sbatchArguments(_ job: SlurmJob, dependencies: [String]) throws -> [String] {
        let resources = settings.defaults.overlaid(by: job.resources)
        let grace = resources.grace ?? SlurmResources.defaultGrace
        if let seconds = resources.timeSeconds, grace >= seconds {
            throw SlurmError.graceTooLong(job: job.name, grace: grace, time: resources.time ?? "")
        }
        let log = job.isArray ? "%x-%A_%a.out" : "%x-%j.out"
        var arguments = ["--parsable", "--job-name=\(job.name)", "--kill-on-invalid-dep=yes",
                         "--output=\(settings.logDirectory)/\(log)", "--open-mode=append",
                         "--signal=B:TERM@\(grace)", "--requeue"]
        if !dependencies.isEmpty { arguments.append("--dependency=afterok:\(dependencies.joined(separator: ":"))") }
        if job.isArray { arguments.append("--array=0-\(job.stages.count - 1)") }
        return arguments + resources.sbatchArguments
    }
}
