import BTXStore
import Foundation

/// Where a runner finds stage results computed on other machines and publishes its own (the runner
/// never talks HTTP itself; tests can stand in a fake).
public protocol RemoteCache: AnyObject {
    /// Pulls stage key `key` into `store` when a remote has it; its output manifest hash, else nil.
    func fetch(_ key: ObjectHash, into store: Store) throws -> ObjectHash?
    /// Publishes the locally cached stage key `key` to every remote this machine may push to.
    func publish(_ key: ObjectHash, from store: Store) throws
    /// Whether `publish` does anything (false with `--no-push` or only read-only remotes).
    var pushes: Bool { get }
    /// Pulls the last checkpoint of stage key `key` into `store` from the first remote having one;
    /// its manifest hash, else nil.
    func fetchCheckpoint(_ key: ObjectHash, into store: Store) throws -> ObjectHash?
    /// Pushes checkpoint `manifest` of stage key `key` to every remote this machine may push to, so a
    /// requeued job on another node resumes from it.
    func publishCheckpoint(_ key: ObjectHash, manifest: ObjectHash, from store: Store) throws
}

extension RemoteCache {
    /// No checkpoints (a cache that only moves finished stages).
    public func fetchCheckpoint(_ key: ObjectHash, into store: Store) throws -> ObjectHash? { nil }
    /// No checkpoints (a cache that only moves finished stages).
    public func publishCheckpoint(_ key: ObjectHash, manifest: ObjectHash, from store: Store) throws {}
}

/// The remotes of one run, in order: a pull asks each until one has the key; a push goes to every
/// writable remote (unless pushing is off).
public final class RemoteCacheSet: RemoteCache {
    /// The remotes, in the order they are asked.
    public let remotes: [RemoteStore]
    /// Transfers at once per stage.
    public let parallel: Int
    /// Whether to push at all.
    public let pushEnabled: Bool
    /// Receives one progress line at a time ("pull: 3 object(s), 12.0 MiB in 0.04 s (300.0 MiB/s)").
    let report: (String) -> Void

    /// A set of `remotes`; `push: false` makes this machine consume-only.
    public init(remotes: [RemoteStore], parallel: Int = 8, push: Bool = true, report: @escaping (String) -> Void) {
        self.remotes = remotes
        self.parallel = parallel
        self.pushEnabled = push
        self.report = report
    }

    public var pushes: Bool { pushEnabled && remotes.contains { !$0.config.readOnly } }

    public func fetch(_ key: ObjectHash, into store: Store) throws -> ObjectHash? {
        for remote in remotes {
            let progress = TransferProgress(direction: "pull \(key.short) from \(remote.config.name)") { self.report("\($0)") }
            if let output = try RemoteSync(remote: remote, store: store, parallel: parallel, progress: progress).pull(key) {
                progress.finish()
                return output
            }
        }
        return nil
    }

    /// The output manifest hash the first remote having `key` records for it, without pulling anything.
    public func peek(_ key: ObjectHash) throws -> ObjectHash? {
        for remote in remotes { if let entry = try remote.action(key) { return entry.output } }
        return nil
    }

    public func fetchCheckpoint(_ key: ObjectHash, into store: Store) throws -> ObjectHash? {
        for remote in remotes {
            let sync = RemoteSync(remote: remote, store: store, parallel: parallel, progress: TransferProgress(direction: "checkpoint", report: nil))
            if let manifest = try sync.pullCheckpoint(key) { return manifest }
        }
        return nil
    }

    public func publishCheckpoint(_ key: ObjectHash, manifest: ObjectHash, from store: Store) throws {
        guard pushEnabled else { return }
        for remote in remotes where !remote.config.readOnly {
            let progress = TransferProgress(direction: "push checkpoint of \(key.short) to \(remote.config.name)") { self.report("\($0)") }
            try RemoteSync(remote: remote, store: store, parallel: parallel, progress: progress).pushCheckpoint(key, manifest: manifest)
            progress.finish()
        }
    }

    public func publish(_ key: ObjectHash, from store: Store) throws {
        guard pushEnabled else { return }
        for remote in remotes where !remote.config.readOnly {
            let progress = TransferProgress(direction: "push \(key.short) to \(remote.config.name)") { self.report("\($0)") }
            try RemoteSync(remote: remote, store: store, parallel: parallel, progress: progress).push(key)
            progress.finish()
        }
    }
}

/// The store state as a run with remotes sees it: a key missing locally is pulled when a remote has
/// it, so that planning (and `--only`) treats stages finished on other machines as cached.
public struct PullingState: PlanState {
    let local: StoreState
    let pull: (ObjectHash) -> ObjectHash?

    /// `local`, with `pull` asked for keys it lacks (it returns the output manifest hash, or nil).
    public init(local: StoreState, pull: @escaping (ObjectHash) -> ObjectHash?) {
        self.local = local
        self.pull = pull
    }

    public func cachedOutput(for key: ObjectHash) -> ObjectHash? { local.cachedOutput(for: key) ?? pull(key) }

    public func lastRun(pipeline: String, stage: String) -> LastRun? { local.lastRun(pipeline: pipeline, stage: stage) }
}
