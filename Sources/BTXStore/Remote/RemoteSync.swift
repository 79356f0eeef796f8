import Foundation

/// Moves finished stages (action entries with everything they reference) between a local store and
/// a remote, in the order that keeps readers safe on both sides:
/// - push: referenced objects first, then the manifest, then a HEAD check that every one of them is
///   on the remote, and only then the action entry;
/// - pull: the manifest, the run record and every object, each verified, and only then the local
///   action entry (`Store.recordAction` checks again that nothing is missing).
/// Transfers of one stage run `parallel` at a time; objects already present are not sent again.
public struct RemoteSync {
    /// The remote side.
    public let remote: RemoteStore
    /// The local side.
    public let store: Store
    /// Transfers at once.
    public var parallel: Int
    /// Counts what moves; its report prints progress lines.
    public let progress: TransferProgress

    /// A sync of `store` with `remote`, `parallel` transfers at once.
    public init(remote: RemoteStore, store: Store, parallel: Int = 8, progress: TransferProgress) {
        self.remote = remote
        self.store = store
        self.parallel = max(1, parallel)
        self.progress = progress
    }

    /// What a push did.
    public enum PushOutcome: Equatable, Sendable {
        /// The remote already had the action entry.
        case present
        /// Objects were uploaded (those missing there) and the entry published.
        case published(objects: Int)
    }

    /// Pushes stage key `key` (cached locally) to the remote.
    @discardableResult
    public func push(_ key: ObjectHash) throws -> PushOutcome {
        guard !remote.config.readOnly else { throw RemoteError.readOnly(remote: remote.config.name) }
        guard let entry = try store.action(key) else {
            throw StoreError.unresolved(key.hex, reason: "no action entry in the local store to push")
        }
        if try remote.action(key) != nil { return .present }
        let objects = try closure(of: entry)
        var uploaded = try upload(objects.filter { $0 != entry.output })
        uploaded += try upload([entry.output])
        // NOTE: check every object again: a concurrent gc or a lost PUT must not leave a dangling entry.
        try forEachConcurrently(Array(objects), width: parallel) { hash in
            guard try remote.hasObject(hash) else {
                throw RemoteError.incompleteUpload(remote: remote.config.name, key: key, missing: hash)
            }
        }
        try remote.publish(key, entry)
        return .published(objects: uploaded)
    }

    /// Pulls stage key `key` from the remote into the local store; returns its output manifest hash,
    /// or nil when the remote does not have it.
    @discardableResult
    public func pull(_ key: ObjectHash) throws -> ObjectHash? {
        let lock = try store.lockShared()   // objects arrive before the entry that makes them reachable
        defer { lock.release() }
        if let local = try store.action(key) { return local.output }
        guard let entry = try remote.action(key) else { return nil }
        try download([entry.output, entry.record])
        let manifest = try store.manifest(entry.output)
        let record = try store.record(entry.record)
        // NOTE: the entry itself is not content-addressed; its (verified) run record names the key it
        // was made for, which catches an entry served for the wrong key.
        guard record.key == key else {
            throw RemoteError.invalidEntry(url: HTTPError.redacted(remote.actionURL(key)),
                                           reason: "its run record belongs to key \(record.key.short), not \(key.short)")
        }
        var rest = manifest.referencedObjects
        if let log = record.log { rest.insert(log) }
        try download(rest.sorted())
        try store.recordAction(key, entry)
        return entry.output
    }

    /// Pushes checkpoint `manifest` of stage key `key`: its objects, the manifest, a check that all of
    /// them arrived, then the remote's checkpoint name (so a half-pushed checkpoint is never named).
    public func pushCheckpoint(_ key: ObjectHash, manifest: ObjectHash) throws {
        guard !remote.config.readOnly else { throw RemoteError.readOnly(remote: remote.config.name) }
        let objects = try store.manifest(manifest).referencedObjects
        _ = try upload(objects)
        _ = try upload([manifest])
        try forEachConcurrently(Array(objects) + [manifest], width: parallel) { hash in
            guard try remote.hasObject(hash) else {
                throw RemoteError.incompleteUpload(remote: remote.config.name, key: key, missing: hash)
            }
        }
        try remote.publishCheckpoint(key, manifest: manifest)
    }

    /// Pulls the remote's last checkpoint of stage key `key` (manifest and objects, each verified);
    /// returns its manifest hash, or nil when the remote has none.
    public func pullCheckpoint(_ key: ObjectHash) throws -> ObjectHash? {
        guard let manifest = try remote.checkpoint(key) else { return nil }
        try download([manifest])
        try download(try store.manifest(manifest).referencedObjects.sorted())
        return manifest
    }

    /// The output manifest, the objects it references, the run record and its log.
    private func closure(of entry: ActionEntry) throws -> Set<ObjectHash> {
        var objects = try store.manifest(entry.output).referencedObjects
        objects.insert(entry.output)
        objects.insert(entry.record)
        if let log = try store.record(entry.record).log { objects.insert(log) }
        return objects
    }

    /// Uploads those of `hashes` the remote lacks; returns how many were sent.
    private func upload(_ hashes: Set<ObjectHash>) throws -> Int {
        let lock = NSLock()
        var sent = 0
        let sizes = hashes.map { hash in Int64((try? FileManager.default.attributesOfItem(atPath: store.objectPath(hash)))?[.size] as? Int ?? 0) }
        progress.expect(objects: hashes.count, bytes: sizes.reduce(0, +))
        try forEachConcurrently(hashes.sorted(), width: parallel) { hash in
            guard try !remote.hasObject(hash) else { return progress.skip() }
            progress.add(bytes: try remote.upload(hash, from: store))
            lock.lock(); sent += 1; lock.unlock()
        }
        return sent
    }

    /// Downloads those of `hashes` the local store lacks.
    private func download(_ hashes: [ObjectHash]) throws {
        let missing = hashes.filter { !store.refreshObject($0) }
        progress.expect(objects: missing.count, bytes: nil)
        try forEachConcurrently(missing, width: parallel) { hash in
            progress.add(bytes: try remote.download(hash, into: store))
        }
    }
}
