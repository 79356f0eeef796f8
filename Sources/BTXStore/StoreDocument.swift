import Foundation

/// A JSON document of the store (manifest, run record, action entry) read from the byte parser's
/// tree (`JSONParser`) instead of `JSONDecoder`, whose type probing of every `JSONValue` in a
/// manifest's metadata was most of a no-op rerun's time. The checks are the `Decodable` ones: every
/// field present with its type, hashes of 64 hex digits, tensor shapes in range.
public protocol StoreDocument {
    /// The document from its parsed JSON; throws `DecodingError` naming the field that is wrong.
    init(json: JSONValue) throws
}

extension StoreDocument {
    /// The document from JSON bytes.
    public init(jsonData data: Data) throws { try self.init(json: try JSONValue.parse(data)) }
}

/// The fields of one JSON object, each read as the type a document expects.
struct DocumentFields {
    let fields: [String: JSONValue]
    let path: [String]

    init(fields: [String: JSONValue], path: [String]) {
        self.fields = fields
        self.path = path
    }

    init(_ json: JSONValue, path: [String] = []) throws {
        guard case .object(let fields) = json else { throw DocumentFields.error(path, "expected an object") }
        self.init(fields: fields, path: path)
    }

    static func error(_ path: [String], _ text: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: [], debugDescription: (path.isEmpty ? "" : path.joined(separator: ".") + ": ") + text))
    }

    func value(_ key: String) throws -> JSONValue {
        guard let value = fields[key] else { throw Self.error(path, "missing field '\(key)'") }
        return value
    }

    func string(_ key: String) throws -> String {
        guard let s = try value(key).stringValue else { throw Self.error(path, "field '\(key)' is not a string") }
        return s
    }

    func int(_ key: String) throws -> Int {
        guard case .int(let i) = try value(key), let n = Int(exactly: i) else { throw Self.error(path, "field '\(key)' is not an integer") }
        return n
    }

    func double(_ key: String) throws -> Double {
        guard let d = try value(key).doubleValue else { throw Self.error(path, "field '\(key)' is not a number") }
        return d
    }

    func hash(_ key: String) throws -> ObjectHash {
        let text = try string(key)
        guard let hash = ObjectHash(hex: text) else {
            throw Self.error(path, "field '\(key)': expected 64 lowercase hex digits, got \"\(text.prefix(80))\"")
        }
        return hash
    }

    /// An optional hash: absent or null is nil.
    func optionalHash(_ key: String) throws -> ObjectHash? {
        if fields[key] == nil || fields[key] == .null { return nil }
        return try hash(key)
    }

    func object(_ key: String) throws -> [String: JSONValue] {
        guard let o = try value(key).objectValue else { throw Self.error(path, "field '\(key)' is not an object") }
        return o
    }
}

extension Manifest: StoreDocument {
    public init(json: JSONValue) throws {
        let f = try DocumentFields(json)
        var tensors: [String: TensorEntry] = [:], objects: [String: ObjectHash] = [:]
        for (name, entry) in try f.object("tensors") { tensors[name] = try TensorEntry(json: entry, path: ["tensors", name]) }
        let named = DocumentFields(fields: try f.object("objects"), path: ["objects"])
        for name in named.fields.keys { objects[name] = try named.hash(name) }
        self.init(kind: try f.string("kind"), tensors: tensors, objects: objects, metadata: try f.object("metadata"))
    }
}

extension TensorEntry {
    init(json: JSONValue, path: [String]) throws {
        let f = try DocumentFields(json, path: path)
        let name = try f.string("dtype")
        guard let dtype = ElementType(rawValue: name) else { throw DocumentFields.error(path, "unknown dtype '\(name)'") }
        guard let dimensions = try f.value("shape").arrayValue else { throw DocumentFields.error(path, "field 'shape' is not an array") }
        let shape = try dimensions.map { d -> Int in
            guard case .int(let n) = d, let dimension = Int(exactly: n) else { throw DocumentFields.error(path, "shape \(JSONValue.array(dimensions).canonicalText) is not integers") }
            return dimension
        }
        guard TensorEntry.isValid(shape: shape, dtype: dtype) else {
            throw DocumentFields.error(path, "shape \(shape) of \(dtype.rawValue) is negative or over \(TensorEntry.maxBytes) bytes")
        }
        self.init(dtype: dtype, shape: shape, object: try f.hash("object"))
    }
}

extension RunRecord: StoreDocument {
    public init(json: JSONValue) throws {
        let f = try DocumentFields(json)
        self.init(stage: try f.string("stage"), kind: try f.string("kind"), kindVersion: try f.int("kindVersion"), key: try f.hash("key"),
                  start: try f.double("start"), end: try f.double("end"), host: try f.string("host"),
                  btxpipeVersion: try f.string("btxpipeVersion"), metrics: try f.object("metrics"), log: try f.optionalHash("log"))
    }
}

extension ActionEntry: StoreDocument {
    public init(json: JSONValue) throws {
        let f = try DocumentFields(json)
        self.init(output: try f.hash("output"), record: try f.hash("record"))
    }
}
