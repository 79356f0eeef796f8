import BTXStore

/// f32 → the ggml tensor types btxpipe writes, exactly as ggml's reference quantizers do it
/// (ggml-quants.c `quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`; gguf-py `quants.py`), so an
/// export is bit-identical to what llama.cpp's own tools would write from the same floats.
///
/// Error bounds (per element x of a 32-element block with absolute maximum amax):
/// - f16: round to nearest even, |x − x̂| ≤ 2⁻¹¹·|x| (normal range).
/// - q8_0: d = amax/127 (stored as f16), q = round(x/d): |x − d̂·q| ≤ d/2 + |d − d̂|·127.
/// - q4_0: d = −max/8 where max is the signed value of largest magnitude, q = min(15, ⌊x/d + 8.5⌋):
///   |x − d̂·(q − 8)| ≤ |d|/2 + |d − d̂|·8, except that the value 8·|d| on the opposite side of max is
///   clipped to 7·|d| (error ≤ |d|).
enum GGMLQuantize {
    /// Elements per q8_0 / q4_0 block.
    static let blockSize = 32

    /// Writes `values` as `type` into `out` (exactly `type.byteCount(elements:)` bytes).
    /// `values.count` must be whole blocks for the block types (the caller checks the row length).
    static func quantize(_ values: UnsafeBufferPointer<Float>, as type: GGMLType, into out: UnsafeMutableRawBufferPointer) {
        precondition(type.byteCount(elements: values.count) == out.count, "\(values.count) values do not fill \(out.count) bytes of \(type)")
        switch type {
        case .f32:
            out.copyMemory(from: UnsafeRawBufferPointer(values))
        case .f16:
            for (i, v) in values.enumerated() { out.storeBytes(of: HalfFloat.floatToF16(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0:
            for b in 0..<(values.count / blockSize) {
                q8_0Block(UnsafeBufferPointer(rebasing: values[b * blockSize..<(b + 1) * blockSize]),
                          UnsafeMutableRawBufferPointer(rebasing: out[b * 34..<(b + 1) * 34]))
            }
        case .q4_0:
            for b in 0..<(values.count / blockSize) {
                q4_0Block(UnsafeBufferPointer(rebasing: values[b * blockSize..<(b + 1) * blockSize]),
                          UnsafeMutableRawBufferPointer(rebasing: out[b * 18..<(b + 1) * 18]))
            }
        default:
            preconditionFailure("btxpipe does not write ggml type \(type.name)")
        }
    }

    /// One q8_0 block: f16 scale d = amax / 127, then 32 × int8 round-half-away(x / d).
    private static func q8_0Block(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer) {
        var amax: Float = 0
        for v in x { amax = max(amax, abs(v)) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        out.storeBytes(of: HalfFloat.floatToF16(d).littleEndian, toByteOffset: 0, as: UInt16.self)
        for j in 0..<blockSize {
            // NOTE: roundf rounds halves away from zero, which is Swift's default `rounded()`.
            out.storeBytes(of: Int8((x[j] * id).rounded()), toByteOffset: 2 + j, as: Int8.self)
        }
    }

    /// One q4_0 block: f16 scale d = max / −8 (max = the signed value of largest magnitude, first
    /// one on ties), then 16 bytes: element j in the low nibble of byte j, element j + 16 in the high.
    private static func q4_0Block(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer) {
        var amax: Float = 0, maxValue: Float = 0
        for v in x where amax < abs(v) {
            amax = abs(v)
            maxValue = v
        }
        let d = maxValue / -8
        let id: Float = d != 0 ? 1 / d : 0
        out.storeBytes(of: HalfFloat.floatToF16(d).littleEndian, toByteOffset: 0, as: UInt16.self)
        func nibble(_ v: Float) -> UInt8 { UInt8(min(15, Int8((v * id + 8.5).rounded(.towardZero)))) }
        for j in 0..<(blockSize / 2) {
            out.storeBytes(of: nibble(x[j]) | nibble(x[j + blockSize / 2]) << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }
}
