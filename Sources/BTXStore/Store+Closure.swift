import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Something missing from the closure of a root object: the object and the role it plays.
public struct ClosureGap: Equatable, Sendable, CustomStringConvertible {
    /// The object that is absent (or was found damaged and quarantined).
    public var missing: ObjectHash
    /// What it is to the root: "output manifest", "output object", "run record", "log", …
    public var role: String

    public var description: String { "its \(role) \(missing.short) is missing" }
}

extension Store {
    /// Largest object read whole as a JSON document (manifest, run record, last run). A bigger one
    /// is refused, not read: the documents btxpipe writes are kilobytes to a few megabytes.
    static let maxDocumentBytes = 64 << 20

    // MARK: completeness of action entries (Bazel's "an entry whose outputs are gone is a miss")

    /// What the action entry `entry` lacks: its output manifest (readable when this store first checked
    /// it), every object the manifest references, its run record (likewise) and the record's log. Nil
    /// when complete. Presence only (reading every tensor would make each cache check as slow as a
    /// verify); a damaged object is quarantined by the first reader and from then on counts as missing
    /// here. What a manifest or record refers to is decoded once per store (`ClosureFacts`).
    public func gap(in entry: ActionEntry) -> ClosureGap? {
        for (role, hash) in [("output manifest", entry.output), ("run record", entry.record)] where !hasObject(hash) {
            return ClosureGap(missing: hash, role: role)
        }
        guard let referenced = manifestReferences.remembered(entry.output, { try self.manifest($0).referencedObjects.sorted() }) else {
            return ClosureGap(missing: entry.output, role: "output manifest")
        }
        if let missing = referenced.first(where: { !hasObject($0) }) { return ClosureGap(missing: missing, role: "output object") }
        guard let log = recordLogs.remembered(entry.record, { try self.record($0).log.map { [$0] } ?? [] }) else {
            return ClosureGap(missing: entry.record, role: "run record")
        }
        if let missing = log.first(where: { !hasObject($0) }) { return ClosureGap(missing: missing, role: "log") }
        return nil
    }

    /// Removes the action entry of `key` (a consumer found its closure broken), so the stage is
    /// recomputed or pulled again. No error when there is none.
    public func invalidateAction(_ key: ObjectHash, reason: String) throws {
        let path = actionPath(key)
        guard unlink(path) == 0 else {
            if errno == ENOENT { return }
            throw StoreError.io(path: path, operation: "unlink", errno: errno)
        }
        try FileSystem.syncDirectory(actionsDirectory)
        report("invalidated action entry \(key.short): \(reason); the stage will be recomputed or pulled again")
    }

    // MARK: the closure of a root, as gc and refs see it

    /// Every object reachable from `roots`: the roots, and for each JSON document among them its
    /// children (`children(ofDocument:)`), recursively. Tensors are leaves and are not read. Throws
    /// on any read error of a root or named object (missing, damaged, too large to be a document):
    /// a child list that cannot be read would make gc delete live objects.
    func closure(of roots: [ObjectHash]) throws -> Set<ObjectHash> {
        var live = Set(roots), pending = roots
        while let hash = pending.popLast() {
            guard let document = try jsonDocument(hash) else { continue }
            let (tensors, named) = Store.children(ofDocument: document)
            live.formUnion(tensors)
            for child in named where live.insert(child).inserted { pending.append(child) }
        }
        return live
    }

    /// The content of object `hash` when it is a JSON object (first byte `{`), verified; nil for any
    /// other content. Of an object over `maxDocumentBytes` only the first chunk is decoded: one that
    /// starts like JSON is refused (no document is that big), anything else is a leaf. (A damaged
    /// first byte cannot hide a document: a genuine one that big is refused either way.)
    func jsonDocument(_ hash: ObjectHash) throws -> Data? {
        let length = try objectLength(hash)
        if length < Store.maxDocumentBytes {
            let data = try object(hash)
            return data.first == UInt8(ascii: "{") ? data : nil
        }
        struct Peeked: Error {}
        var first: UInt8?
        do { try read(hash, begin: { _ in }, sink: { first = $0.first; throw Peeked() }) } catch is Peeked {}
        guard first == UInt8(ascii: "{") else { return nil }
        throw StoreError.corrupt(path: objectPath(hash), reason: "a JSON document of \(length) bytes, over the \(Store.maxDocumentBytes >> 20) MiB limit")
    }

    /// The objects a JSON document points at: a manifest's tensors (leaves) and named objects (which
    /// may be documents themselves); any other document's top-level `record` and `log` hashes (a
    /// last-run entry names its run record, a run record its log), so provenance of failed runs stays.
    static func children(ofDocument data: Data) -> (tensors: [ObjectHash], named: [ObjectHash]) {
        guard let json = try? JSONValue.parse(data), case .object(let fields) = json else { return ([], []) }
        if let manifest = try? Manifest(json: json) {
            return (manifest.tensors.values.map(\.object), Array(manifest.objects.values))
        }
        let named = ["record", "log"].compactMap { key -> ObjectHash? in
            if case .string(let text)? = fields[key] { return ObjectHash(hex: text) }
            return nil
        }
        return ([], named)
    }

    /// Points ref `name` at `hash` only when everything `hash` reaches is in the store and readable
    /// (for refs users rely on: pins, imports). Throws `.incompleteRef` naming what is missing.
    public func setCompleteRef(_ name: String, to hash: ObjectHash) throws {
        let reachable: Set<ObjectHash>
        do { reachable = try closure(of: [hash]) } catch StoreError.missing(let missing) {
            throw StoreError.incompleteRef(name: name, missing: missing)
        }
        if let missing = reachable.sorted().first(where: { !hasObject($0) }) {
            throw StoreError.incompleteRef(name: name, missing: missing)
        }
        try setRef(name, to: hash)
    }
}
