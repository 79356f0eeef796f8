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

    /// Reads a tensor's bytes into `buffer`, which must hold exactly `entry.byteCount` bytes; they are
    /// decompressed straight into it. Throws when the object is missing or damaged (then the buffer
    /// holds 0xFF bytes, NaN as floats, never unverified content).
    public func readTensor(_ entry: TensorEntry, into buffer: UnsafeMutableRawBufferPointer) throws {
        let expected = try Store.byteCount(shape: entry.shape, dtype: entry.dtype, actual: buffer.count)
        guard buffer.count == expected else { throw StoreError.bufferSize(hash: entry.object, expected: expected, actual: buffer.count) }
        try read(entry.object) { length in
            guard length == expected else {
                throw StoreError.shapeMismatch(shape: entry.shape, dtype: entry.dtype, expectedBytes: expected, actualBytes: length)
            }
            return buffer
        }
    }

    /// A float tensor's values as f32 (bf16 and f16 are converted exactly).
    public func floats(_ entry: TensorEntry) throws -> [Float] {
        // NOTE: the arrays are created uninitialised and decoded into: zero-filling them first would
        // write every byte twice.
        let count = try Store.byteCount(shape: entry.shape, dtype: entry.dtype, actual: 0) / entry.dtype.size
        switch entry.dtype {
        case .f32:
            return try [Float](unsafeUninitializedCapacity: count) { values, initialized in
                try readTensor(entry, into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: values[0..<count])))
                initialized = count
            }
        case .bf16, .f16:
            let halves = try [UInt16](unsafeUninitializedCapacity: count) { halves, initialized in
                try readTensor(entry, into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: halves[0..<count])))
                initialized = count
            }
            return halves.withUnsafeBufferPointer { src in
                [Float](unsafeUninitializedCapacity: count) { values, initialized in
                    let dst = UnsafeMutableBufferPointer(rebasing: values[0..<count])
                    if entry.dtype == .bf16 { HalfFloat.bf16ToFloat(src, dst) } else { HalfFloat.f16ToFloat(src, dst) }
                    initialized = count
                }
            }
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
