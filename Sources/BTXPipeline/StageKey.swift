import BTXStore

/// The components of a stage's cache key; the key is the SHA-256 of their canonical JSON
/// `{"inputs":{slot: manifest hash},"kind":…,"params":{…},"version":…}`, plus `"source":…` for a kind
/// that reads outside its declared inputs (`StageKind.sourceFingerprint`).
public struct StageKey: Codable, Hashable, Sendable {
    /// The stage kind's name.
    public var kind: String
    /// The kind's implementation version.
    public var version: Int
    /// The parameters after templating.
    public var params: [String: JSONValue]
    /// Input slot (`model`, `experts.0`, …) → hash of the input's output manifest.
    public var inputs: [String: ObjectHash]
    /// The content fingerprint of what the stage reads outside its inputs (local files, a pinned
    /// URL), nil for kinds that read nothing else; absent from the key JSON when nil.
    public var source: JSONValue?

    /// Components of a key.
    public init(kind: String, version: Int, params: [String: JSONValue], inputs: [String: ObjectHash],
                source: JSONValue? = nil) {
        self.kind = kind
        self.version = version
        self.params = params
        self.inputs = inputs
        self.source = source
    }

    /// The components as one JSON object.
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["kind": .string(kind), "version": .int(Int64(version)), "params": .object(params),
                                           "inputs": .object(inputs.mapValues { .string($0.hex) })]
        if let source { fields["source"] = source }
        return .object(fields)
    }

    /// The cache key.
    public var hash: ObjectHash { ObjectHash.of(json.canonicalText) }

    /// Human-readable differences from an `older` key, one per changed component
    /// ("params.steps: 3 → 4", "version: 1 → 2", "input parts.0: 1a2b… → 3c4d…").
    public func changes(since older: StageKey) -> [String] {
        var changes: [String] = []
        if kind != older.kind { changes.append("kind: \(older.kind) → \(kind)") }
        if version != older.version { changes.append("version: \(older.version) → \(version)") }
        changes += Self.differences(.object(older.params), .object(params), path: "params")
        if source != older.source { changes.append("source: \(Self.brief(older.source ?? .null)) → \(Self.brief(source ?? .null))") }
        for slot in Set(inputs.keys).union(older.inputs.keys).sorted() where inputs[slot] != older.inputs[slot] {
            changes.append("input \(slot): \(older.inputs[slot]?.short ?? "none") → \(inputs[slot]?.short ?? "none")")
        }
        return changes
    }

    private static func differences(_ old: JSONValue, _ new: JSONValue, path: String) -> [String] {
        if old == new { return [] }
        if let oldObject = old.objectValue, let newObject = new.objectValue {
            return Set(oldObject.keys).union(newObject.keys).sorted().flatMap { key in
                differences(oldObject[key] ?? .null, newObject[key] ?? .null, path: "\(path).\(key)")
            }
        }
        return ["\(path): \(brief(old)) → \(brief(new))"]
    }

    private static func brief(_ value: JSONValue) -> String {
        let text = value == .null ? "(absent)" : value.canonicalText
        return text.count > 40 ? String(text.prefix(37)) + "..." : text
    }
}
