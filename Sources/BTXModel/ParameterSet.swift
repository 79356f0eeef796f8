import BTXTensor

/// Named float tensors in one contiguous allocation: a model's parameters, or their gradients, or
/// an optimizer moment, all sharing one layout so that fused loops can run over everything at once.
///
/// Names and shapes follow Hugging Face (`model.layers.3.self_attn.q_proj.weight`, `[out, in]`), so
/// import and export are a mapping, not a translation.
public final class ParameterSet {
    /// One tensor's place in the storage.
    public struct Entry: Equatable, Sendable {
        /// Hugging Face name.
        public let name: String
        /// Hugging Face shape (`[out, in]` for linear layers).
        public let shape: [Int]
        /// Offset of the first element in `storage`.
        public let offset: Int
        /// Number of elements (product of `shape`).
        public let count: Int
        /// Whether AdamW applies weight decay to it (matrices yes; norm gains no).
        public let decays: Bool
    }

    /// The tensors in layout order.
    public let entries: [Entry]
    /// Total number of floats.
    public let count: Int
    /// The contiguous storage of all tensors, zero-initialised.
    public let storage: UnsafeMutablePointer<Float>
    private let index: [String: Int]

    /// Lays out tensors `(name, shape)` in the given order; rank ≥ 2 tensors decay.
    public init(layout: [(name: String, shape: [Int])]) {
        var entries = [Entry](), offset = 0
        for (name, shape) in layout {
            let n = shape.reduce(1, *)
            entries.append(Entry(name: name, shape: shape, offset: offset, count: n, decays: shape.count >= 2))
            offset += n
        }
        self.entries = entries
        count = offset
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
        storage = ZeroedMemory.allocate(Float.self, count: offset)
    }

    /// A zeroed set with the same layout (for gradients and optimizer moments).
    public func zerosLike() -> ParameterSet {
        ParameterSet(layout: entries.map { ($0.name, $0.shape) })
    }

    deinit { ZeroedMemory.deallocate(storage, count: count) }

    /// The entry called `name`, if any.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// Start of tensor `name`. Precondition: the name exists (names come from the model's own
    /// layout; user-supplied names go through `setValues`, which throws).
    public func pointer(_ name: String) -> UnsafeMutablePointer<Float> {
        guard let i = index[name] else { preconditionFailure("no parameter named \(name)") }
        return storage + entries[i].offset
    }

    /// Where tensor `name`'s gradient goes, this being a gradient set: nil when the tensor is
    /// `frozen` (its weight-gradient product is skipped). Every layer asks here, so the rule lives once.
    public func gradientPointer(_ name: String, frozen: Set<String>) -> UnsafeMutablePointer<Float>? {
        frozen.contains(name) ? nil : pointer(name)
    }

    /// A copy of tensor `name`.
    public func values(_ name: String) throws -> [Float] {
        guard let e = entry(name) else { throw ModelError.unknownParameter(name) }
        return Array(UnsafeBufferPointer(start: storage + e.offset, count: e.count))
    }

    /// Overwrites tensor `name`; throws if unknown or if the shape differs.
    public func setValues(_ name: String, shape: [Int], _ values: [Float]) throws {
        guard let e = entry(name) else { throw ModelError.unknownParameter(name) }
        guard shape == e.shape, values.count == e.count else {
            throw ModelError.shapeMismatch(name: name, expected: e.shape, actual: shape == e.shape ? [values.count] : shape)
        }
        values.withUnsafeBufferPointer { (storage + e.offset).update(from: $0.baseAddress!, count: e.count) }
    }

    /// Copies every tensor from `other`, which must have the same layout.
    public func copy(from other: ParameterSet) {
        precondition(other.entries == entries, "parameter layouts differ")
        storage.update(from: other.storage, count: count)
    }

    /// Sets every element to zero.
    public func zero() { storage.update(repeating: 0, count: count) }

    /// All elements as one array (for tests and checksums).
    public var flat: [Float] { Array(UnsafeBufferPointer(start: storage, count: count)) }
}
