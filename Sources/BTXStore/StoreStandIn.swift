import Foundation

// NOTE: TEMPORARY stand-in with the Store API of common.md so that the stage contract and the runner in
// BTXPipeline compile and can be tested before the store engineer's `Store.swift` lands. Plain files,
// no compression. DELETE this file when merging the real store (it declares the same names).

/// Stand-in for the content-addressed store (see the store branch for the real one).
public final class Store: @unchecked Sendable {
    public let root: URL
    public init(root: URL) throws {
        self.root = root
        for dir in ["objects", "actions", "refs"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
    }
    private func path(_ dir: String, _ name: String) -> URL { root.appendingPathComponent("\(dir)/\(name)") }
    private func write(_ data: Data, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    }
    public func putObject(_ bytes: Data, elementSize: Int = 1) throws -> ObjectHash {
        let hash = ObjectHash.of(bytes)
        if !hasObject(hash) { try write(bytes, to: path("objects", hash.hex)) }
        return hash
    }
    public func putObject(contentsOf file: URL, elementSize: Int = 1) throws -> ObjectHash { try putObject(Data(contentsOf: file)) }
    public func object(_ hash: ObjectHash) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path("objects", hash.hex).path) else { throw StoreError.missing(hash) }
        guard ObjectHash.of(data) == hash else { throw StoreError.corrupt(path: path("objects", hash.hex).path, reason: "hash") }
        return data
    }
    public func hasObject(_ hash: ObjectHash) -> Bool { FileManager.default.fileExists(atPath: path("objects", hash.hex).path) }
    public func copyObject(_ hash: ObjectHash, to file: URL) throws { try object(hash).write(to: file) }
    public func putTensor(_ bytes: UnsafeRawBufferPointer, dtype: ElementType, shape: [Int]) throws -> TensorEntry {
        TensorEntry(dtype: dtype, shape: shape, object: try putObject(Data(bytes)))
    }
    public func putTensor(_ values: [Float], shape: [Int]) throws -> TensorEntry {
        try values.withUnsafeBytes { try putTensor($0, dtype: .f32, shape: shape) }
    }
    public func readTensor(_ entry: TensorEntry, into buffer: UnsafeMutableRawBufferPointer) throws {
        try object(entry.object).copyBytes(to: buffer)
    }
    public func floats(_ entry: TensorEntry) throws -> [Float] {
        let data = try object(entry.object)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
    public func putManifest(_ manifest: Manifest) throws -> ObjectHash { try putObject(manifest.canonicalData()) }
    public func manifest(_ hash: ObjectHash) throws -> Manifest { try JSONValue.parse(object(hash)).decode(Manifest.self) }
    public func action(_ key: ObjectHash) throws -> ActionEntry? {
        guard let data = FileManager.default.contents(atPath: path("actions", key.hex).path) else { return nil }
        return try? JSONValue.parse(data).decode(ActionEntry.self)
    }
    public func recordAction(_ key: ObjectHash, _ entry: ActionEntry) throws {
        try write(JSONValue(encoding: entry).canonicalData, to: path("actions", key.hex))
    }
    public func putRecord(_ record: RunRecord) throws -> ObjectHash { try putObject(JSONValue(encoding: record).canonicalData) }
    public func record(_ hash: ObjectHash) throws -> RunRecord { try JSONValue.parse(object(hash)).decode(RunRecord.self) }
    public func setRef(_ name: String, to hash: ObjectHash) throws { try write(Data(hash.hex.utf8), to: path("refs", name)) }
    public func ref(_ name: String) throws -> ObjectHash? {
        FileManager.default.contents(atPath: path("refs", name).path).flatMap { ObjectHash(hex: String(decoding: $0, as: UTF8.self)) }
    }
    public func removeRef(_ name: String) throws { try? FileManager.default.removeItem(at: path("refs", name)) }
}

/// Stand-in for the store's errors.
public enum StoreError: Error, CustomStringConvertible {
    case missing(ObjectHash), corrupt(path: String, reason: String)
    public var description: String {
        switch self {
        case .missing(let hash): return "object \(hash.short) missing"
        case .corrupt(let path, let reason): return "\(path): corrupt: \(reason)"
        }
    }
}
