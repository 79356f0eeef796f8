import ArgumentParser
import BTXPipeline
import BTXStages
import BTXTensor
import Foundation

/// `btxpipe run PIPELINE [STAGE…]`: run what is not cached; rerun to resume.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the stages that are not cached (all, or the named ones and what they need).")

    @OptionGroup var options: PipelineOptions

    @Argument(help: "Stages to run with what they need (a fan-out name means all its instances).")
    var stages: [String] = []

    @Option(name: [.customShort("j"), .customLong("jobs")], help: "Stages run at once (default: the cores).")
    var jobs: Int?

    @Option(parsing: .upToNextOption, help: "Run just these stages; their inputs must be cached.")
    var only: [String] = []

    @Flag(help: "Keep running independent stages after one failed.")
    var keepGoing = false

    @OptionGroup var remoteOptions: RemoteOptions

    @Flag(help: "With --remote: pull from the remotes but push nothing (consume-only machine).")
    var noPush = false

    @Option(help: "Compute only this machine's share i/n of every fan-out (instance k goes to shard k mod n).")
    var shard: String?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("-j must be at least 1") }
        if !only.isEmpty && !stages.isEmpty { throw ValidationError("give stages either as arguments or after --only") }
        if let shard { _ = try Shard(parsing: shard) }
        if noPush && remoteOptions.remote.isEmpty { throw ValidationError("--no-push needs --remote") }
    }

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            // Deferred by main: faster BLAS kernels are worth a re-exec only when something will compute.
            if BLASRuntime.kernelChoicePending, try session.fullPlan().contains(where: { if case .cached = $0.reason { return false } else { return true } }) {
                BLASRuntime.ensurePreferredKernels()
            }
            let cores = ProcessInfo.processInfo.activeProcessorCount
            var runOptions = RunOptions()
            runOptions.targets = try targets(session)
            runOptions.only = !only.isEmpty
            runOptions.jobs = jobs ?? cores
            runOptions.cores = cores
            runOptions.keepGoing = keepGoing
            runOptions.version = BTXPipeVersion.string
            let view = ProgressView.standardError(environment: ProcessInfo.processInfo.environment,
                                                  plainInterval: options.verbosity.plainInterval)
            view.quiet = options.verbosity.quiet
            let runner = try Runner(spec: session.spec, registry: StageCatalog.registry, store: session.store,
                                    options: runOptions, observer: view, sources: session.planner.sources)
            runner.remoteCache = try remoteOptions.cache(for: session.spec, push: !noPush, defaultAll: false, verbosity: options.verbosity)
            let trap = SignalTrap { _ in
                view.note("interrupted: checkpointing running stages (press Ctrl-C again to quit at once)")
                runner.cancel()
            }
            let results: [StageResult]
            do { results = try runner.run() } catch { throw CommandFailure.usage("\(error)") }
            withExtendedLifetime(trap) {}
            try finish(results, session: session, cancelled: runner.isCancelled)
        }
    }

    /// The stages asked for: the arguments or `--only`, narrowed to this machine's `--shard`.
    private func targets(_ session: PipelineSession) throws -> [String] {
        let named = only.isEmpty ? stages : only
        guard let shard else { return named }
        let scope: Set<String>
        do { scope = Set(named.isEmpty ? session.spec.stages.map(\.name) : try session.planner.resolveTargets(named)) } catch {
            throw CommandFailure.usage("\(error)")
        }
        let mine = try Shard(parsing: shard).stages(of: session.spec).filter(scope.contains)
        guard !mine.isEmpty else {
            FileHandle.standardError.write(Data("btxpipe: shard \(shard) has no fan-out instances to compute\n".utf8))
            throw ExitCode.success
        }
        FileHandle.standardError.write(Data("btxpipe: shard \(shard): \(mine.joined(separator: ", "))\n".utf8))
        return mine
    }

    /// Prints the summary; exits 130 when cancelled, 1 naming each failed stage and its log.
    private func finish(_ results: [StageResult], session: PipelineSession, cancelled wasCancelled: Bool) throws {
        var counts: [String: Int] = [:]
        var failures: [String] = []
        var cancelled = wasCancelled
        for result in results {
            switch result.outcome {
            case .cached: counts["cached", default: 0] += 1
            case .ran: counts["ran", default: 0] += 1
            case .failed(let error):
                counts["failed", default: 0] += 1
                failures.append("stage '\(result.stage)' failed: \(error) (log: btxpipe log \(options.pipeline) '\(result.stage)')")
            case .cancelled: counts["cancelled", default: 0] += 1; cancelled = true
            case .skipped: counts["skipped", default: 0] += 1
            case .notStarted: counts["not started", default: 0] += 1
            }
        }
        let summary = ["ran", "cached", "failed", "skipped", "not started", "cancelled"].compactMap { name in
            counts[name].map { "\($0) \(name)" }
        }
        FileHandle.standardError.write(Data("\(session.spec.name): \(summary.joined(separator: ", "))\n".utf8))
        if cancelled { throw ExitStatus.interrupted }
        if !failures.isEmpty { throw CommandFailure.failed(failures.joined(separator: "\nbtxpipe: ")) }
    }
}
