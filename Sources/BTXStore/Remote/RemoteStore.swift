import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The store layout over HTTP(S): HEAD/GET/PUT of object files and action entries under one base URL,
///
///     <base>/objects/v1/ab/<hash>   the same compressed object files as on disk
///     <base>/actions/v1/<key>       canonical ActionEntry JSON
///
/// A `file://` remote is a second store on a path (a shared filesystem): the same files, copied and
/// verified, placed with the store's own atomic writes.
///
/// URLs are formed only from validated `ObjectHash`es. Redirects are refused; every downloaded
/// object is decoded and hash-checked before it enters the local store; every uploaded object is
/// verified locally first, so a damaged local file never reaches the remote.
public final class RemoteStore: @unchecked Sendable {
    /// Name, URL, read-only flag, signing.
    public let config: RemoteConfig
    let client: HTTPClient
    /// The same client with a body limit, for action entries (an entry is ~150 bytes of JSON).
    let documentClient: HTTPClient
    /// Largest action entry accepted from a remote.
    static let maxActionBytes: Int64 = 64 << 10
    /// Downloads of one object tried before giving up when the bytes do not verify.
    let verifyAttempts: Int
    /// The store of a `file://` remote (its opening error when it could not be opened); nil over HTTP.
    private let directory: Result<Store, Error>?

    /// A remote reached with `options` (its credentials, timeouts and retries; redirects are always refused).
    public init(config: RemoteConfig, options: HTTPOptions, verifyAttempts: Int = 3) {
        var options = options
        options.followRedirects = false
        self.config = config
        self.client = HTTPClient(options: options)
        options.maxBytes = RemoteStore.maxActionBytes
        self.documentClient = HTTPClient(options: options)
        self.verifyAttempts = max(1, verifyAttempts)
        self.directory = config.directoryPath.map { path in
            Result { try Store(root: URL(fileURLWithPath: path), report: { _ in }) }
        }
    }

    /// The `file://` remote's store, nil for an HTTP remote.
    private func sharedStore() throws -> Store? {
        guard let directory else { return nil }
        do { return try directory.get() } catch {
            throw RemoteError.invalidConfig("remote '\(config.name)': cannot open the store at \(config.directoryPath ?? ""): \(Store.oneLine(error))")
        }
    }

    /// The URL of object `hash`.
    func objectURL(_ hash: ObjectHash) -> String { "\(config.url)/objects/v1/\(hash.hex.prefix(2))/\(hash.hex)" }

    /// The URL of the action entry for stage key `key`.
    func actionURL(_ key: ObjectHash) -> String { "\(config.url)/actions/v1/\(key.hex)" }

    /// The URL naming stage key `key`'s last checkpoint manifest (its hash as hex text).
    func checkpointURL(_ key: ObjectHash) -> String { "\(config.url)/checkpoints/v1/\(key.hex)" }

    /// The ref a `file://` remote names a checkpoint with (the runner's own name for it).
    private func checkpointRef(_ key: ObjectHash) -> String { "checkpoint/\(key.hex)" }

    /// The manifest hash of the remote's last checkpoint for stage key `key`, or nil.
    public func checkpoint(_ key: ObjectHash) throws -> ObjectHash? {
        if let shared = try sharedStore() { return try shared.ref(checkpointRef(key)) }
        let text: Data
        do { text = try client.get(checkpointURL(key)).0 } catch HTTPError.status(_, _, 404) { return nil }
        guard let hash = ObjectHash(hex: String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw RemoteError.invalidEntry(url: HTTPError.redacted(checkpointURL(key)), reason: "not a checkpoint manifest hash")
        }
        return hash
    }

    /// Names `manifest` (whose objects are already on the remote) as stage key `key`'s last checkpoint.
    func publishCheckpoint(_ key: ObjectHash, manifest: ObjectHash) throws {
        guard !config.readOnly else { throw RemoteError.readOnly(remote: config.name) }
        if let shared = try sharedStore() { return try shared.setRef(checkpointRef(key), to: manifest) }
        try client.put(checkpointURL(key), data: Data(manifest.hex.utf8))
    }

    /// Whether the remote has object `hash` (HEAD).
    public func hasObject(_ hash: ObjectHash) throws -> Bool {
        if let shared = try sharedStore() { return shared.hasObject(hash) }
        return try exists(objectURL(hash))
    }

    /// The remote's action entry for `key`, or nil when it has none. An answer that is not an action
    /// entry is fetched again (a damaged transfer), up to `verifyAttempts` times.
    public func action(_ key: ObjectHash) throws -> ActionEntry? {
        if let shared = try sharedStore() { return try shared.action(key) }
        let url = actionURL(key)
        var reason = ""
        for _ in 0..<verifyAttempts {
            let data: Data
            do { data = try documentClient.get(url).0 } catch HTTPError.status(_, _, 404) { return nil }
            do { return try ActionEntry(jsonData: data) } catch {
                reason = "not an action entry: \(Store.oneLine(error))"
            }
        }
        throw RemoteError.corruptDownload(url: HTTPError.redacted(url), reason: reason, attempts: verifyAttempts)
    }

    /// Uploads object `hash`'s file from `store` after verifying it; returns the bytes sent.
    @discardableResult
    func upload(_ hash: ObjectHash, from store: Store) throws -> Int64 {
        guard !config.readOnly else { throw RemoteError.readOnly(remote: config.name) }
        if let damage = store.verifyObject(hash) { throw damage }
        let file = store.objectFile(hash)
        if let shared = try sharedStore() {
            if !shared.hasObject(hash) { try Self.copyObjectFile(file, into: shared, as: hash) }
        } else {
            try client.put(objectURL(hash), contentsOf: file)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int64) ?? nil
        return size ?? 0
    }

    /// Publishes `entry` as the action for `key` (callers first make sure its objects are there).
    func publish(_ key: ObjectHash, _ entry: ActionEntry) throws {
        guard !config.readOnly else { throw RemoteError.readOnly(remote: config.name) }
        if let shared = try sharedStore() { return try shared.recordAction(key, entry) }
        try client.put(actionURL(key), data: try JSONValue(encoding: entry).canonicalData)
    }

    /// Copies an object file into `store` under a temp name, then verifies and places it there.
    private static func copyObjectFile(_ file: URL, into store: Store, as hash: ObjectHash) throws {
        let temp = store.newTempPath()
        do { try FileManager.default.copyItem(atPath: file.path, toPath: temp) } catch {
            unlink(temp)
            throw StoreError.unresolved(hash.hex, reason: "cannot copy \(file.path): \(Store.oneLine(error))")
        }
        try store.importObjectFile(at: temp, as: hash)
    }

    /// Downloads object `hash` into `store`: into a resumable partial file, then decoded and checked
    /// before it is renamed into place. Wrong bytes are deleted and fetched again, up to
    /// `verifyAttempts` times. Returns the bytes received.
    @discardableResult
    func download(_ hash: ObjectHash, into store: Store) throws -> Int64 {
        let url = objectURL(hash)
        var reason = ""
        if let shared = try sharedStore() {
            if store.hasObject(hash) { return 0 }
            let file = shared.objectFile(hash)
            do { try Self.copyObjectFile(file, into: store, as: hash) } catch StoreError.corrupt(_, let why) {
                throw RemoteError.corruptDownload(url: file.path, reason: why, attempts: 1)
            }
            return Int64((try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0)
        }
        for _ in 0..<verifyAttempts {
            if store.refreshObject(hash) { return 0 }
            let partial = PartialDownload(store: store, hash: hash)
            let received = try client.get(url, to: URL(fileURLWithPath: partial.path), resume: partial.resumable).bytesReceived
            do {
                try store.importObjectFile(at: partial.path, as: hash)
                return received
            } catch StoreError.corrupt(_, let why) {
                reason = why
            }
        }
        throw RemoteError.corruptDownload(url: HTTPError.redacted(url), reason: reason, attempts: verifyAttempts)
    }

    /// HEAD `url`: true for 200, false for 404, an error otherwise.
    private func exists(_ url: String) throws -> Bool {
        do { return try client.head(url).status == 200 } catch HTTPError.status(_, _, 404) { return false }
    }
}

/// The file a download of one object goes to. The fixed per-hash name lets an interrupted download
/// resume (even in a later process); a lock on it makes a concurrent puller of the same object use a
/// private name instead of appending to the same file.
private final class PartialDownload {
    let path: String
    let resumable: Bool
    private var lock: Int32 = -1

    init(store: Store, hash: ObjectHash) {
        let shared = store.downloadPath(hash)
        let fd = open(shared, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 {
            lock = fd
            path = shared
            resumable = true
        } else {
            if fd >= 0 { close(fd) }
            path = store.newTempPath()
            resumable = false
        }
    }

    deinit { if lock >= 0 { close(lock) } }
}
