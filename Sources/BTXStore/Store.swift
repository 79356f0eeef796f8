import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A content-addressed store on disk, shared safely by threads and processes.
///
/// Layout under `root` (versioned, sharded by hash prefix):
/// ```
/// objects/v1/ab/<hash>    immutable objects (header + zstd chunks, see ObjectHeader)
/// objects/v1/tmp/         objects being written (renamed into place when complete)
/// objects/v1/quarantine/  objects found corrupt on read, moved aside so they count as missing
/// actions/v1/<key>        action cache: stage key -> ActionEntry JSON
/// refs/<name>             small mutable pointers: checkpoint/<key>, pin/<name>, last/<pipeline>/<stage>
/// ```
/// Every write is temp file → fsync → rename → fsync directory, so a crash never leaves a partial
/// file under a real name; every object read verifies the content hash.
public final class Store: @unchecked Sendable {
    /// The store's directory.
    public let root: URL
    /// Receives one-line notices about damage found and handled (corrupt entries treated as missing).
    let report: @Sendable (String) -> Void
    let pool = ZstdPool(level: 1)
    /// Uncompressed bytes per chunk: big enough for zstd to find structure, small enough to split work.
    let chunkSize = 1 << 20
    /// Chunks compressed or decompressed ahead of the sequential hash (bounds memory: ring buffers
    /// of this many chunks while streaming).
    let window = 16
    /// Threads one object read or write uses, the caller's included.
    let workers = ProcessInfo.processInfo.activeProcessorCount
    /// The objects each manifest references and each run record's log, remembered once read (`gap(in:)`).
    let manifestReferences = ClosureFacts(), recordLogs = ClosureFacts()

    var objectsDirectory: String { root.path + "/objects/v1" }
    var tempDirectory: String { objectsDirectory + "/tmp" }
    var quarantineDirectory: String { objectsDirectory + "/quarantine" }
    var actionsDirectory: String { root.path + "/actions/v1" }
    var refsDirectory: String { root.path + "/refs" }

    /// Opens the store at `root`, creating its layout if missing. `report` gets notices about damage
    /// found (default: standard error).
    public init(root: URL, report: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data("btxpipe: \($0)\n".utf8)) }) throws {
        self.root = root.standardizedFileURL
        self.report = report
        for directory in [tempDirectory, quarantineDirectory, actionsDirectory, refsDirectory] {
            try FileSystem.makeDirectory(directory)
        }
    }

    /// Where object `hash` lives.
    func objectPath(_ hash: ObjectHash) -> String {
        "\(objectsDirectory)/\(hash.hex.prefix(2))/\(hash.hex)"
    }

    // MARK: objects

    /// Stores `bytes` (byte-shuffled in planes of `elementSize` before compression) and returns its hash.
    public func putObject(_ bytes: Data, elementSize: Int = 1) throws -> ObjectHash {
        try bytes.withUnsafeBytes { try putObject(bytes: $0, elementSize: elementSize) }
    }

    /// Stores raw bytes; see `putObject(_:elementSize:)`.
    func putObject(bytes: UnsafeRawBufferPointer, elementSize: Int) throws -> ObjectHash {
        try write(MemorySource(bytes: bytes), elementSize: elementSize)
    }

    /// Stores a file's content, streaming it through bounded buffers.
    public func putObject(contentsOf file: URL, elementSize: Int = 1) throws -> ObjectHash {
        let input = try FileDescriptor(path: file.path, flags: O_RDONLY)
        return try putObject(file: input, offset: 0, count: Int(try input.status().st_size), elementSize: elementSize)
    }

    /// Stores `count` bytes of an open file starting at `offset`, streaming.
    func putObject(file: FileDescriptor, offset: Int, count: Int, elementSize: Int) throws -> ObjectHash {
        try write(FileRangeSource(file: file, offset: offset, count: count), elementSize: elementSize)
    }

    /// Encodes a source into a temp file and places it under its hash. A concurrent writer of the
    /// same content writes identical bytes, so whichever lands first wins and the other is a no-op.
    private func write(_ source: some ByteSource, elementSize: Int) throws -> ObjectHash {
        precondition((1...16).contains(elementSize), "element size \(elementSize) outside 1...16")
        let temp = FileSystem.tempPath(in: tempDirectory)
        let hash: ObjectHash
        do {
            let out = try FileDescriptor(path: temp, flags: O_WRONLY | O_CREAT | O_EXCL)
            hash = try ObjectEncoder(pool: pool, chunkSize: chunkSize, window: window, workers: workers)
                .encode(source, elementSize: elementSize, into: out)
            try out.sync()
        } catch {
            unlink(temp)
            throw error
        }
        try placeObject(temp, as: hash)
        return hash
    }

    /// Places a complete, synced temp file as object `hash` (link, "exists" is success: see
    /// `FileSystem.placeImmutable`). A damaged copy already there stays until a reader quarantines
    /// it; the next write then places a good one.
    func placeObject(_ temp: String, as hash: ObjectHash) throws {
        let path = objectPath(hash)
        do { try FileSystem.makeDirectory((path as NSString).deletingLastPathComponent) } catch {
            unlink(temp)
            throw error
        }
        try FileSystem.placeImmutable(temp, path)
    }

    /// Whether object `hash` is present, and if so sets its modification time to now: every dedup
    /// hit (a pull or fetch finding the object already here) calls this, so gc's grace period counts
    /// from the last time a run relied on the object, not from when it was first written.
    public func refreshObject(_ hash: ObjectHash) -> Bool {
        utimensat(AT_FDCWD, objectPath(hash), nil, 0) == 0
    }

    /// Whether object `hash` is present (not verified; reading it verifies).
    public func hasObject(_ hash: ObjectHash) -> Bool {
        access(objectPath(hash), F_OK) == 0
    }

    /// The content of object `hash`, verified. Throws `.missing`, or `.corrupt` (and moves the
    /// damaged file aside, so the object counts as missing from then on).
    public func object(_ hash: ObjectHash) throws -> Data {
        var data = Data()
        try read(hash, begin: { data.reserveCapacity(min($0, 1 << 30)) }, sink: { data.append(contentsOf: $0) })
        return data
    }

    /// Writes object `hash`'s content to `file`, streaming; the file appears only once verified.
    public func copyObject(_ hash: ObjectHash, to file: URL) throws {
        let directory = file.deletingLastPathComponent().path
        let temp = FileSystem.tempPath(in: directory)
        do {
            let out = try FileDescriptor(path: temp, flags: O_WRONLY | O_CREAT | O_EXCL)
            try read(hash, begin: { _ in }, sink: { try out.write($0) })
            try out.sync()
        } catch {
            unlink(temp)
            throw error
        }
        try FileSystem.rename(temp, file.path)
    }

    /// Decodes object `hash` into `sink` (see `ObjectDecoder`), quarantining it when damaged.
    func read(_ hash: ObjectHash, begin: (Int) throws -> Void, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try decoding(hash) { try decoder.decode($0, expected: hash, begin: begin, sink: sink) }
    }

    /// Decodes object `hash` into the buffer `destination` returns for its length (see
    /// `ObjectDecoder`), quarantining it when damaged.
    func read(_ hash: ObjectHash, into destination: (Int) throws -> UnsafeMutableRawBufferPointer) throws {
        try decoding(hash) { try decoder.decode($0, expected: hash, into: destination) }
    }

    /// A decoder with the store's settings.
    var decoder: ObjectDecoder { ObjectDecoder(pool: pool, window: window, workers: workers) }

    /// Opens object `hash` for `decode`; `.missing` when absent, and quarantines it when corrupt.
    private func decoding(_ hash: ObjectHash, _ decode: (FileDescriptor) throws -> Void) throws {
        let path = objectPath(hash)
        let file: FileDescriptor
        do { file = try FileDescriptor(path: path, flags: O_RDONLY) } catch StoreError.io(_, _, ENOENT) {
            throw StoreError.missing(hash)
        }
        do {
            try decode(file)
        } catch let error as StoreError {
            if case .corrupt = error { quarantine(file) }
            throw error
        }
    }

    /// Checks object `hash` completely without keeping its content; nil when intact.
    func verifyObject(_ hash: ObjectHash) -> StoreError? {
        let path = objectPath(hash)
        do {
            let file = try FileDescriptor(path: path, flags: O_RDONLY)
            try decoder.decode(file, expected: hash, begin: { _ in }, sink: { _ in })
            return nil
        } catch let error as StoreError {
            return error
        } catch {
            return .corrupt(path: path, reason: "\(error)")
        }
    }

    /// Moves a damaged object file aside (only if the name still points at the file that was read:
    /// a concurrent writer may just have replaced it with a good copy).
    func quarantine(_ file: FileDescriptor) {
        var named = stat()
        guard let opened = try? file.status(), stat(file.path, &named) == 0,
              named.st_ino == opened.st_ino, named.st_dev == opened.st_dev else { return }
        let target = "\(quarantineDirectory)/\((file.path as NSString).lastPathComponent).\(UUID().uuidString)"
        if Glibc.rename(file.path, target) == 0 {
            report("moved corrupt object \(file.path) to \(target); it now counts as missing")
        }
    }
}
