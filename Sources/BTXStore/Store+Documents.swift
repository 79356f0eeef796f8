import Foundation

extension Store {
    // MARK: manifests and run records (canonical JSON objects)

    /// Stores a manifest as canonical JSON; equal manifests get equal hashes.
    public func putManifest(_ manifest: Manifest) throws -> ObjectHash {
        try putObject(try manifest.canonicalData())
    }

    /// The manifest stored as object `hash`.
    public func manifest(_ hash: ObjectHash) throws -> Manifest {
        try document(hash, as: Manifest.self, expected: "manifest")
    }

    /// Stores a run record as canonical JSON.
    public func putRecord(_ record: RunRecord) throws -> ObjectHash {
        try putObject(try JSONValue(encoding: record).canonicalData)
    }

    /// The run record stored as object `hash`.
    public func record(_ hash: ObjectHash) throws -> RunRecord {
        try document(hash, as: RunRecord.self, expected: "run record")
    }

    private func document<T: StoreDocument>(_ hash: ObjectHash, as type: T.Type, expected: String) throws -> T {
        let length = try objectLength(hash)
        guard length < Store.maxDocumentBytes else {
            throw StoreError.invalidDocument(hash: hash, expected: expected, reason: "\(length) bytes, over the \(Store.maxDocumentBytes >> 20) MiB limit for documents")
        }
        let data = try object(hash)
        do { return try T(jsonData: data) } catch {
            throw StoreError.invalidDocument(hash: hash, expected: expected, reason: Store.oneLine(error))
        }
    }

    // MARK: action cache

    func actionPath(_ key: ObjectHash) -> String { "\(actionsDirectory)/\(key.hex)" }

    /// The cached result of stage key `key`, or nil. An unreadable entry, or one whose closure is
    /// incomplete (`gap(in:)`: an output object, the record or its log gone or quarantined), is
    /// reported and treated as absent, so the stage reruns (or is pulled again) and the entry heals.
    public func action(_ key: ObjectHash) throws -> ActionEntry? {
        let path = actionPath(key)
        guard let data = try FileSystem.contents(of: path) else { return nil }
        guard let entry = try? ActionEntry(jsonData: data) else {
            report("ignoring corrupt action entry \(path): not an action entry JSON")
            return nil
        }
        if let gap = gap(in: entry) {
            report("ignoring action entry \(path): \(gap)")
            return nil
        }
        return entry
    }

    /// Records `entry` as the result of stage key `key`, atomically. Refuses (throws
    /// `.incompleteAction`) unless the output manifest, every object it references, the run record
    /// and its log are all in the store, so a crash can never leave an entry pointing at nothing.
    public func recordAction(_ key: ObjectHash, _ entry: ActionEntry) throws {
        func require(_ hash: ObjectHash, _ role: String) throws {
            guard hasObject(hash) else { throw StoreError.incompleteAction(key: key, missing: hash, role: role) }
        }
        try require(entry.output, "output manifest")
        try require(entry.record, "run record")
        for hash in try manifest(entry.output).referencedObjects.sorted() { try require(hash, "output object") }
        if let log = try record(entry.record).log { try require(log, "log") }
        try FileSystem.atomicWrite(try JSONValue(encoding: entry).canonicalData, to: actionPath(key))
    }

    /// Every action-cache key present (temp files skipped).
    public func actionKeys() throws -> [ObjectHash] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: actionsDirectory)) ?? []
        return names.compactMap(ObjectHash.init(hex:)).sorted()
    }

    /// An error as one line of text.
    static func oneLine(_ error: Error) -> String {
        "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
