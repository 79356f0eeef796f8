import BTXStore
import Foundation

/// Runs a pipeline's stages that are not cached, `jobs` at a time on threads of this process, in an order
/// that respects their inputs. Resume is a rerun: cached stages are skipped, an interrupted one continues
/// from its checkpoint.
public final class Runner: @unchecked Sendable {
    let spec: PipelineSpec
    let planner: Planner
    let store: Store
    let options: RunOptions
    let observer: RunObserver
    let cancellation = Cancellation()
    /// Remote stores: a stage not cached locally is pulled from them when they have it, and a
    /// stage computed (or cached) here is pushed to them. Set before `run()`.
    public var remoteCache: RemoteCache?

    private let condition = NSCondition()
    private var outputs: [String: ObjectHash] = [:]
    private var results: [String: StageResult] = [:]
    private var running: Set<String> = []
    /// Stage keys launched in this run, so a consumer that meets a broken input can invalidate the
    /// producer's entry; and the consumers already given their one retry after such a repair.
    private var launchedKeys: [String: ObjectHash] = [:]
    private var healed: Set<String> = []

    /// A runner of a validated `spec` on `store`. `sources` are the stages' source fingerprints when
    /// the caller has just computed them (`SourceFingerprints.compute`; a no-op rerun then hashes the
    /// corpora's listing once, not twice); nil computes them here.
    public init(spec: PipelineSpec, registry: StageRegistry, store: Store, options: RunOptions,
                observer: RunObserver, sources: [String: JSONValue]? = nil) throws {
        self.spec = spec
        var planner = try Planner(spec: spec, registry: registry)
        // Fingerprints of what stages read outside their inputs (local corpora): computed here, once,
        // so that the planner stays pure and a changed file changes the stage's key.
        planner.sources = sources ?? SourceFingerprints.compute(spec: spec, registry: registry, store: store)
        self.planner = planner
        self.store = store
        self.options = options
        self.observer = observer
    }

    /// Asks running stages to checkpoint and stop, and starts no more (safe from a signal handler's queue).
    public func cancel() {
        cancellation.cancel()
        condition.lock(); condition.broadcast(); condition.unlock()
    }

    /// True once `cancel` was called.
    public var isCancelled: Bool { cancellation.isCancelled }

    /// Runs the stages and returns one result per stage in scope, in graph order.
    /// Throws only for bad targets (`PlanError`); stage failures are results.
    public func run() throws -> [StageResult] {
        // NOTE: held shared for the whole run: objects a stage writes are unreachable until its action
        // entry lands, and gc (exclusive) must not sweep them meanwhile.
        let storeLock = try store.lockShared()
        defer { storeLock.release() }
        let local = StoreState(store: store)
        let state: PlanState = remoteCache == nil ? local : PullingState(local: local) { self.pull($0, stage: "stage \($0.short)") }
        let steps = try planner.plan(targets: options.targets, only: options.only, state: state)
        let names = steps.map(\.stage)
        if options.only { prefillCachedInputs(of: names) }
        condition.lock()
        defer { condition.unlock() }
        var failed = false
        while true {
            failed = failed || results.values.contains { if case .failed = $0.outcome { return true }; return false }
            skipStagesWithBrokenInputs(names)
            let stopLaunching = cancellation.isCancelled || (failed && !options.keepGoing)
            let ready = stopLaunching ? [] : names.filter(isReady)
            let starting = ready.prefix(max(0, options.jobs - running.count))
            let threads = options.threads(concurrent: running.count + starting.count)
            for name in starting { launch(name, threads: threads) }
            if running.isEmpty && (stopLaunching || ready.isEmpty) { break }
            condition.wait()
        }
        return names.map { results[$0] ?? StageResult(stage: $0, key: nil, outcome: .notStarted) }
    }

    /// With `--only`, the targets' inputs come from the cache (local, else pulled from the remotes).
    private func prefillCachedInputs(of names: [String]) {
        let state = StoreState(store: store)
        for name in planner.graph.closure(of: names) where !names.contains(name) {
            guard let key = planner.key(of: planner.graph.stages[name]!, outputs: outputs),
                  let output = state.cachedOutput(for: key.hash) ?? pull(key.hash, stage: name) else { continue }
            outputs[name] = output
        }
    }

    /// Pulls `key` from the remotes; nil when none has it or the pull failed (noted).
    func pull(_ key: ObjectHash, stage: String) -> ObjectHash? {
        guard let remoteCache else { return nil }
        do {
            let output = try remoteCache.fetch(key, into: store)
            if output != nil { observer.note("\(stage): pulled from the remote") }
            return output
        } catch {
            observer.note("\(stage): pull failed, computing it here instead: \(error)")
            return nil
        }
    }

    private func isReady(_ name: String) -> Bool {
        results[name] == nil && !running.contains(name)
            && planner.graph.stages[name]!.dependencies.allSatisfy { outputs[$0] != nil }
    }

    private func skipStagesWithBrokenInputs(_ names: [String]) {
        for name in names where results[name] == nil && !running.contains(name) {
            let dependencies = planner.graph.stages[name]!.dependencies
            if let broken = dependencies.first(where: { results[$0] != nil && outputs[$0] == nil }) {
                let result = StageResult(stage: name, key: nil, outcome: .skipped(input: broken))
                results[name] = result
                observer.stageEnded(result)
            }
        }
    }

    /// Starts `name` on its own thread (caller holds the condition's lock).
    private func launch(_ name: String, threads: Int) {
        running.insert(name)
        let stage = planner.graph.stages[name]!
        let key = planner.key(of: stage, outputs: outputs)!
        launchedKeys[name] = key.hash
        let thread = Thread { [self] in
            let result = StageExecution(runner: self, stage: stage, key: key, threads: threads).execute()
            condition.lock()
            running.remove(name)
            if healBrokenInputs(of: name, after: result) {
                condition.broadcast()
                condition.unlock()
                return
            }
            results[name] = result
            if let output = result.outcome.output { outputs[name] = output }
            observer.stageEnded(result)
            condition.broadcast()
            condition.unlock()
        }
        thread.stackSize = 16 << 20
        thread.name = "btxpipe \(name)"
        thread.start()
    }

    /// After `name` failed: when an input's cache entry has lost part of its closure (the consumer met
    /// a missing object, or quarantined a damaged one), invalidates that entry and schedules the
    /// producer (recomputed or pulled again) and then `name` once more. True when it did (caller
    /// holds the condition's lock). A consumer is retried once per run, so a real failure still ends.
    private func healBrokenInputs(of name: String, after result: StageResult) -> Bool {
        guard case .failed = result.outcome, !healed.contains(name) else { return false }
        var broken: [String] = []
        for input in planner.graph.stages[name]!.dependencies {
            guard let key = launchedKeys[input], outputs[input] != nil else { continue }
            // nil: the entry is absent, unreadable, or its closure is incomplete (`Store.action`).
            if (try? store.action(key)) == nil {
                try? store.invalidateAction(key, reason: "\(name) met a missing or damaged object of it")
                broken.append(input)
            }
        }
        guard !broken.isEmpty else { return false }
        healed.insert(name)
        for input in broken { results[input] = nil; outputs[input] = nil }
        observer.note("\(name): input \(broken.joined(separator: ", ")) lost objects from the store; recomputing it, then retrying")
        return true
    }

    /// The output manifest hashes of finished stages (read by executions for their inputs).
    func output(of stage: String) -> ObjectHash? {
        condition.lock(); defer { condition.unlock() }
        return outputs[stage]
    }
}
