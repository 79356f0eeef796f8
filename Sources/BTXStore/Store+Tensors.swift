import Foundation

extension Store {
    /// Stores a tensor's bytes as one object (floats byte-shuffled) and returns its manifest entry.
    public func putTensor(_ bytes: UnsafeRawBufferPointer, dtype: ElementType, shape: [Int]) throws -> TensorEntry {
        let expected = try Store.byteCount(shape: shape, dtype: dtype, actual: bytes.count)
        guard expected == bytes.count else {
            throw StoreError.shapeMismatch(shape: shape, dtype: dtype, expectedBytes: expected, actualBytes: bytes.count)
        }
        let hash = try putObject(bytes: bytes, elementSize: Store.shuffleSize(dtype))
        return TensorEntry(dtype: dtype, shape: shape, object: hash)
    }

    /// Stores an f32 tensor.
    public func putTensor(_ values: [Float], shape: [Int]) throws -> TensorEntry {
        try values.withUnsafeBytes { try putTensor($0, dtype: .f32, shape: shape) }
    }

    /// Reads a tensor's bytes into `buffer`, which must hold exactly `entry.byteCount` bytes.
    /// Throws (and the buffer's content is meaningless) when the object is missing or damaged.
    public func readTensor(_ entry: TensorEntry, into buffer: UnsafeMutableRawBufferPointer) throws {
        let expected = try Store.byteCount(shape: entry.shape, dtype: entry.dtype, actual: buffer.count)
        guard buffer.count == expected else { throw StoreError.bufferSize(hash: entry.object, expected: expected, actual: buffer.count) }
        var offset = 0
        try read(entry.object, begin: { length in
            guard length == expected else {
                throw StoreError.shapeMismatch(shape: entry.shape, dtype: entry.dtype, expectedBytes: expected, actualBytes: length)
            }
        }, sink: { chunk in
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + chunk.count)]).copyMemory(from: chunk)
            offset += chunk.count
        })
    }

    /// A float tensor's values as f32 (bf16 and f16 are converted exactly).
    public func floats(_ entry: TensorEntry) throws -> [Float] {
        switch entry.dtype {
        case .f32:
            var values = [Float](repeating: 0, count: entry.count)
            try values.withUnsafeMutableBytes { try readTensor(entry, into: $0) }
            return values
        case .bf16, .f16:
            var halves = [UInt16](repeating: 0, count: entry.count)
            try halves.withUnsafeMutableBytes { try readTensor(entry, into: $0) }
            var values = [Float](repeating: 0, count: entry.count)
            halves.withUnsafeBufferPointer { src in
                values.withUnsafeMutableBufferPointer { dst in
                    if entry.dtype == .bf16 { HalfFloat.bf16ToFloat(src, dst) } else { HalfFloat.f16ToFloat(src, dst) }
                }
            }
            return values
        default:
            throw StoreError.unsupportedDType(entry.dtype, expected: "f32, bf16 or f16")
        }
    }

    /// Bytes per shuffle plane group: the element size for floats, 1 (no shuffle) for integers.
    static func shuffleSize(_ dtype: ElementType) -> Int { dtype.isFloat ? dtype.size : 1 }

    /// The byte count a shape and dtype need; throws for negative or overflowing shapes.
    static func byteCount(shape: [Int], dtype: ElementType, actual: Int) throws -> Int {
        var count = dtype.size
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else {
                throw StoreError.shapeMismatch(shape: shape, dtype: dtype, expectedBytes: -1, actualBytes: actual)
            }
            count = product
        }
        return count
    }
}
