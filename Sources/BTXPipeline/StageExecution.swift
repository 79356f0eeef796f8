import BTXStore
import Foundation

/// Runs one stage whose inputs are done: cache check, lock, run, then output, record, action entry
/// and last-run ref written in that order (the action entry last, after everything it references).
struct StageExecution {
    let runner: Runner
    let stage: StageInstance
    let key: StageKey
    /// Threads the stage may use (`RunOptions.threads(concurrent:)`).
    let threads: Int

    private var store: Store { runner.store }
    private var observer: RunObserver { runner.observer }

    func execute() -> StageResult {
        let hash = key.hash
        func result(_ outcome: StageOutcome) -> StageResult { StageResult(stage: stage.name, key: hash, outcome: outcome) }
        if let cached = StoreState(store: store).cachedOutput(for: hash) { return result(published(.cached(output: cached))) }
        let lock: StageLock
        do {
            let acquired = try StageLock.acquire(store: store.root, key: hash, stage: stage.name,
                                                 isCancelled: { runner.cancellation.isCancelled }) { holder in
                observer.note("\(stage.name): waiting for the lock held by \(holder.map { "\($0)" } ?? "another run")")
            }
            guard let acquired else { return result(.cancelled) }
            lock = acquired
        } catch {
            return result(.failed(error: "\(error)"))
        }
        defer { lock.release() }
        if let stale = lock.staleHolder {
            observer.note("\(stage.name): took over the lock left by a dead process: \(stale)")
        }
        // NOTE: another run may have finished this stage while we waited for its lock.
        if let cached = StoreState(store: store).cachedOutput(for: hash) { return result(published(.cached(output: cached))) }
        if let pulled = runner.pull(hash, stage: stage.name) { return result(.cached(output: pulled)) }
        return result(published(compute()))
    }

    /// Pushes a successful outcome to the remotes. A stage whose push fails counts as failed (it is
    /// cached here, but machines waiting for it would not see it); a rerun pushes it again.
    private func published(_ outcome: StageOutcome) -> StageOutcome {
        guard let remote = runner.remoteCache, remote.pushes, outcome.output != nil else { return outcome }
        do {
            try remote.publish(key.hash, from: store)
            return outcome
        } catch {
            return .failed(error: "computed and cached here, but the push failed: \(error) (rerun to push again)")
        }
    }

    /// Runs the kind and records the run, whatever its outcome.
    private func compute() -> StageOutcome {
        let start = Date().timeIntervalSince1970
        // NOTE: the stage's buffers are freed when it returns; without this their pages stay
        // resident for the rest of a one-process run and add to every later stage's peak.
        defer { ProcessMemory.releaseFreedPages() }
        observer.stageStarted(stage.name, key: key.hash)
        var context: StageContext?
        do {
            let built = try makeContext()
            context = built
            guard let kind = runner.planner.registry.kind(named: stage.kind) else {
                throw StageError.failed("unknown kind '\(stage.kind)'")
            }
            fetchRemoteCheckpoint(built)
            if (try? store.ref(built.checkpointRef)) ?? nil != nil {
                observer.note("\(stage.name): resuming from its checkpoint")
            }
            let manifest = try kind.init().run(built)
            let output = try store.putManifest(manifest)
            let record = try putRecord(built, start: start)
            try store.recordAction(key.hash, ActionEntry(output: output, record: record))
            try? StoreState(store: store).setLastRun(LastRun(key: key, outcome: .succeeded, record: record),
                                                     pipeline: runner.spec.name, stage: stage.name)
            try? store.removeRef(built.checkpointRef)
            return .ran(output: output, seconds: Date().timeIntervalSince1970 - start)
        } catch {
            let cancelled = (error as? StageError) == .cancelled
            if let context, !cancelled { context.log("error: \(error)") }
            if let context, cancelled { publishCheckpoint(context) }
            if let context, let record = try? putRecord(context, start: start) {
                let run = LastRun(key: key, outcome: cancelled ? .cancelled : .failed, record: record,
                                  error: cancelled ? nil : "\(error)")
                try? StoreState(store: store).setLastRun(run, pipeline: runner.spec.name, stage: stage.name)
            }
            return cancelled ? .cancelled : .failed(error: "\(error)")
        }
    }

    /// Without a checkpoint here, takes the remotes' (a job requeued onto another node resumes from it).
    private func fetchRemoteCheckpoint(_ context: StageContext) {
        guard let remote = runner.remoteCache, (try? store.ref(context.checkpointRef)) ?? nil == nil else { return }
        do {
            if let manifest = try remote.fetchCheckpoint(key.hash, into: store) { try store.setRef(context.checkpointRef, to: manifest) }
        } catch {
            observer.note("\(stage.name): could not fetch its checkpoint from the remotes (\(error)); starting here")
        }
    }

    /// Pushes an interrupted stage's checkpoint to the remotes, so that it resumes wherever it runs next.
    private func publishCheckpoint(_ context: StageContext) {
        guard let remote = runner.remoteCache, remote.pushes, let manifest = (try? store.ref(context.checkpointRef)) ?? nil else { return }
        do { try remote.publishCheckpoint(key.hash, manifest: manifest, from: store) } catch {
            observer.note("\(stage.name): its checkpoint stays here only: pushing it failed (\(error))")
        }
    }

    /// The context: the inputs' manifests read from the store, the thread budget, the runner's channels.
    private func makeContext() throws -> StageContext {
        var inputs: [String: Manifest] = [:]
        var inputHashes: [String: ObjectHash] = [:]
        for (slot, hash) in key.inputs {
            inputs[slot] = try store.manifest(hash)
            inputHashes[slot] = hash
        }
        return StageContext(store: store, stage: stage.name, key: key.hash, params: StageParams(stage.params),
                            inputs: inputs, inputHashes: inputHashes, threads: threads,
                            events: observer, cancellation: runner.cancellation)
    }

    /// Stores the log and the run record.
    private func putRecord(_ context: StageContext, start: Double) throws -> ObjectHash {
        let log = try store.putObject(Data(context.logText.utf8))
        let kindVersion = key.version
        return try store.putRecord(RunRecord(
            stage: stage.name, kind: stage.kind, kindVersion: kindVersion, key: key.hash, start: start,
            end: Date().timeIntervalSince1970, host: ProcessInfo.processInfo.hostName,
            btxpipeVersion: runner.options.version, metrics: context.metrics, log: log))
    }
}
