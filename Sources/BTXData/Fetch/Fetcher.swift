import BTXStore
import Foundation

/// Fetches sources into documents: remote files are downloaded (resumably) into the store's
/// `downloads/`, checked against their pin and kept as objects; local files are read in place and
/// fingerprinted through the memo in `<store>/memo/`.
public struct Fetcher {
    public let store: Store
    public var client: HTTPClient

    /// A fetcher writing into `store`.
    public init(store: Store, client: HTTPClient = HTTPClient()) {
        self.store = store
        self.client = client
    }

    /// The memo of local file hashes kept in the store root.
    public var memo: FileHashMemo { FileHashMemo(file: store.root.appendingPathComponent("memo/file-hashes.tsv")) }

    /// The content identity of a source: its pin for remote files, the fingerprint of the files
    /// for local ones. A runner folds this into the fetch stage's key.
    public func identity(of source: FetchSource) throws -> ObjectHash {
        if source.isRemote {
            guard let pin = source.sha256 else { throw FetchError.missingPin(url: HTTPError.redacted(source.url), actual: try download(source)) }
            guard let hash = ObjectHash(hex: pin.lowercased()) else { throw FetchError.badPin(pin) }
            return hash
        }
        return try LocalSource(path: source.localPath, include: source.include, exclude: source.exclude).fingerprint(memo: memo)
    }

    /// Downloads a remote file into the store and returns its object hash, verified against the
    /// pin. Without a pin it throws `missingPin` carrying the actual hash; a mismatch throws and
    /// stores nothing. A download cut by a crash resumes on the next call.
    @discardableResult
    public func download(_ source: FetchSource) throws -> ObjectHash {
        guard source.isRemote else { throw FetchError.unsupportedURL(source.url) }
        if let pin = source.sha256 {
            guard let hash = ObjectHash(hex: pin.lowercased()) else { throw FetchError.badPin(pin) }
            if store.refreshObject(hash) { return hash }
        }
        let dir = store.root.appendingPathComponent("downloads")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let partial = dir.appendingPathComponent(ObjectHash.of(source.url).hex + ".partial")
        // NOTE: two fetches of one URL (-j, or two runs) would interleave their bytes in one partial
        // file: the second waits for the first, then finds the object (or the complete file) there.
        let locks = store.root.appendingPathComponent("locks")
        try FileManager.default.createDirectory(at: locks, withIntermediateDirectories: true)
        let lock = try FileLock(path: locks.appendingPathComponent("fetch-\(ObjectHash.of(source.url).hex).lock").path)
        defer { lock.release() }
        if let pin = source.sha256, let hash = ObjectHash(hex: pin.lowercased()), store.refreshObject(hash) { return hash }
        let shown = HTTPError.redacted(source.url)
        // A complete earlier download (e.g. the run that printed the missing pin) needs no network.
        let reusable = try FileManager.default.fileExists(atPath: partial.path) && Self.hash(partial).hex == source.sha256?.lowercased()
        if !reusable { try client.get(source.url, to: partial, resume: true) }
        let actual = try Self.hash(partial)
        guard let pin = source.sha256 else {
            // NOTE: the file stays in downloads/ (not in the store) so that pinning it costs no refetch.
            throw FetchError.missingPin(url: shown, actual: actual)
        }
        guard actual.hex == pin.lowercased() else {
            try? FileManager.default.removeItem(at: partial)
            throw FetchError.pinMismatch(url: shown, expected: pin, actual: actual)
        }
        let stored = try store.putObject(contentsOf: partial)
        try? FileManager.default.removeItem(at: partial)
        return stored
    }

    private static func hash(_ file: URL) throws -> ObjectHash {
        var hasher = StreamingHasher()
        try Compression.none.decompress(from: FileByteSource(path: file.path)) { hasher.update($0) }
        return hasher.finalize()
    }

    /// The documents of `source` (remote: downloaded and verified first), sampled to `maxBytes`.
    public func documents(_ source: FetchSource) throws -> DocumentCollection {
        var docs = DocumentCollection()
        if source.isRemote {
            let hash = try download(source)
            let name = URL(string: source.url)?.path ?? source.url
            let raw = try store.object(hash)
            var content = Data()
            try Compression(path: name).decompress(from: DataByteSource(raw)) { content.append($0.bindMemory(to: UInt8.self)) }
            try source.format.split(content, path: HTTPError.redacted(source.url), into: &docs)
        } else if source.url.contains("://") && !source.url.hasPrefix("file://") {
            throw FetchError.unsupportedURL(source.url)
        } else {
            docs = try LocalSource(path: source.localPath, include: source.include, exclude: source.exclude).documents(format: source.format)
        }
        if let maxBytes = source.maxBytes { return docs.sample(maxBytes: maxBytes) }
        return docs
    }
}
