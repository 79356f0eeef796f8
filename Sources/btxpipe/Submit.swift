import ArgumentParser
import BTXPipeline
import BTXStages
import BTXStore
import Foundation

/// `btxpipe submit PIPELINE --executor slurm --remote R …`: every uncached stage becomes a Slurm job.
struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit the uncached stages as cluster jobs that share artifacts through a remote.",
        discussion: """
        Each stage becomes a job running `btxpipe run PIPELINE --only STAGE --remote …`; a fan-out becomes \
        one job array; jobs wait for their inputs' jobs (afterok, --kill-on-invalid-dep=yes). \
        `btxpipe status PIPELINE` shows the job ids and states.
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

    @Argument(help: "Stages to submit with what they need (default: all).")
    var stages: [String] = []

    func validate() throws {
        if remoteOptions.remote.isEmpty { throw ValidationError("submit needs --remote NAME|URL: jobs exchange artifacts through it") }
        if let cpus, cpus < 1 { throw ValidationError("--cpus must be at least 1") }
    }

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let steps: [PlanStep]
            do {
                let cache = try remoteOptions.cache(for: session.spec, push: false, defaultAll: false)
                // NOTE: ask the remote which stages it has, without pulling their artifacts here.
                let state = PullingState(local: session.state) { key in (try? cache?.peek(key)) ?? nil }
                steps = try session.planner.plan(targets: stages, state: state)
            } catch { throw CommandFailure.usage("\(error)") }
            let jobs = SlurmPlan.jobs(spec: session.spec, steps: steps)
            guard !jobs.isEmpty else { print("everything is cached: nothing to submit"); return }
            let logs = session.store.root.appendingPathComponent("slurm-logs").path
            try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            var settings = SlurmSettings(executable: Self.executablePath(), pipeline: Self.absolute(options.pipeline),
                                         store: session.store.root.path, remotes: remoteOptions.remote, logDirectory: logs)
            settings.partition = partition
            settings.time = time
            settings.cpus = cpus
            settings.memory = mem
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
