import Foundation

/// Element types of stored tensors. The store needs only their sizes (for byte shuffling);
/// arithmetic on them lives in BTXTensor.
public enum ElementType: String, Codable, CaseIterable, Sendable {
    case f32, bf16, f16, i32, u16, u32, u8

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32, .i32, .u32: return 4
        case .bf16, .f16, .u16: return 2
        case .u8: return 1
        }
    }

    /// Floats are byte-shuffled before compression (Blosc-style planes); integers are not.
    public var isFloat: Bool { self == .f32 || self == .bf16 || self == .f16 }
}

/// One tensor of a manifest: its element type, shape (row-major) and the object holding its bytes.
public struct TensorEntry: Codable, Hashable, Sendable {
    public var dtype: ElementType
    public var shape: [Int]
    public var object: ObjectHash

    public init(dtype: ElementType, shape: [Int], object: ObjectHash) {
        self.dtype = dtype
        self.shape = shape
        self.object = object
    }

    /// Largest tensor a manifest may describe (elements × element size), so that sizes computed from
    /// a decoded shape can never overflow (1 PiB: far beyond any model here).
    public static let maxBytes = 1 << 50

    /// Decodes and validates: every dimension ≥ 0 and the byte count at most `maxBytes`, so a damaged
    /// or hostile manifest fails here, at the boundary, instead of trapping in arithmetic later.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        dtype = try container.decode(ElementType.self, forKey: .dtype)
        shape = try container.decode([Int].self, forKey: .shape)
        object = try container.decode(ObjectHash.self, forKey: .object)
        guard TensorEntry.isValid(shape: shape, dtype: dtype) else {
            throw DecodingError.dataCorruptedError(forKey: .shape, in: container,
                debugDescription: "shape \(shape) of \(dtype.rawValue) is negative or over \(TensorEntry.maxBytes) bytes")
        }
    }

    /// Every dimension ≥ 0 and the byte count at most `maxBytes` (no overflow on the way).
    static func isValid(shape: [Int], dtype: ElementType) -> Bool {
        var bytes = dtype.size
        for dimension in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow, product <= TensorEntry.maxBytes else { return false }
            bytes = product
        }
        return true
    }

    /// Number of elements (1 for a scalar's empty shape).
    public var count: Int { shape.reduce(1, *) }
    /// Size of the tensor's bytes.
    public var byteCount: Int { count * dtype.size }
}

/// What a stage produces: named tensors (HF names for models), named opaque objects (a tokenizer's
/// JSON, a log, a report file) and free-form metadata (a model's config, metrics). Stored as
/// canonical JSON, itself an object, so equal manifests have equal hashes.
public struct Manifest: Codable, Hashable, Sendable {
    /// What the manifest describes: "model", "moe-model", "tokenizer", "tokens", "checkpoint", …
    public var kind: String
    public var tensors: [String: TensorEntry]
    public var objects: [String: ObjectHash]
    public var metadata: [String: JSONValue]

    public init(kind: String, tensors: [String: TensorEntry] = [:], objects: [String: ObjectHash] = [:],
                metadata: [String: JSONValue] = [:]) {
        self.kind = kind
        self.tensors = tensors
        self.objects = objects
        self.metadata = metadata
    }

    /// The canonical JSON encoding that is hashed and stored.
    public func canonicalData() throws -> Data { try JSONValue(encoding: self).canonicalData }

    /// Every object this manifest references (tensor objects and named objects).
    public var referencedObjects: Set<ObjectHash> {
        Set(tensors.values.map(\.object)).union(objects.values)
    }
}

/// An action-cache entry: stage key → the stage's output manifest and its run record.
public struct ActionEntry: Codable, Hashable, Sendable {
    public var output: ObjectHash
    /// The `RunRecord` object, as canonical JSON.
    public var record: ObjectHash

    public init(output: ObjectHash, record: ObjectHash) {
        self.output = output
        self.record = record
    }
}

/// Provenance of one stage run: when, where, by which version, with what results.
public struct RunRecord: Codable, Hashable, Sendable {
    public var stage: String
    public var kind: String
    public var kindVersion: Int
    public var key: ObjectHash
    public var start: Double           // seconds since 1970
    public var end: Double
    public var host: String
    public var btxpipeVersion: String
    public var metrics: [String: JSONValue]
    /// The stage's log text, stored as an object.
    public var log: ObjectHash?

    public init(stage: String, kind: String, kindVersion: Int, key: ObjectHash, start: Double, end: Double,
                host: String, btxpipeVersion: String, metrics: [String: JSONValue], log: ObjectHash?) {
        self.stage = stage
        self.kind = kind
        self.kindVersion = kindVersion
        self.key = key
        self.start = start
        self.end = end
        self.host = host
        self.btxpipeVersion = btxpipeVersion
        self.metrics = metrics
        self.log = log
    }

    /// Wall time of the run in seconds.
    public var seconds: Double { end - start }
}
