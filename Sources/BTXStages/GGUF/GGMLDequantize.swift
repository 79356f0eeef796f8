import BTXStore

/// ggml tensor data → f32, exactly as ggml-quants.c `dequantize_row_*` computes it (and as the
/// `gguf` Python package's quants.py does, whose results the tests compare bit for bit): the same
/// f16 → f32 scale conversion, the same products in the same order, no fused multiply-add.
///
/// Block layouts (ggml-common.h), `d`/`dmin`/`m` are f16:
///   q8_0 {d; i8 qs[32]}            q4_0 {d; u8 qs[16]}            q4_1 {d; m; u8 qs[16]}
///   q4_K {d; dmin; u8 scales[12]; u8 qs[128]}
///   q5_K {d; dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
///   q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; d}
enum GGMLDequantize {
    /// The types that can be dequantized.
    static let supported: Set<GGMLType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q4_K, .q5_K, .q6_K]

    /// `count` elements of `type` in `bytes` as f32; `unsupported()` is thrown for other types.
    static func floats(_ bytes: [UInt8], type: GGMLType, count: Int, unsupported: () -> Error) throws -> [Float] {
        guard supported.contains(type), type.byteCount(elements: count) == bytes.count else { throw unsupported() }
        return bytes.withUnsafeBytes { src in
            [Float](unsafeUninitializedCapacity: count) { dst, initialized in
                dequantize(src, type: type, into: UnsafeMutableBufferPointer(rebasing: dst[0..<count]))
                initialized = count
            }
        }
    }

    /// Fills `y` from the blocks in `x` (which hold exactly `y.count` elements of `type`).
    static func dequantize(_ x: UnsafeRawBufferPointer, type: GGMLType, into y: UnsafeMutableBufferPointer<Float>) {
        let blocks = y.count / (type.blockSize ?? 1)
        switch type {
        case .f32: _ = y.initialize(from: x.bindMemory(to: Float.self))
        case .f16: HalfFloat.f16ToFloat(x.bindMemory(to: UInt16.self), y)
        case .bf16: HalfFloat.bf16ToFloat(x.bindMemory(to: UInt16.self), y)
        case .q8_0: for b in 0..<blocks { q8_0(x.baseAddress! + b * 34, y.baseAddress! + b * 32) }
        case .q4_0: for b in 0..<blocks { q4_0(x.baseAddress! + b * 18, y.baseAddress! + b * 32) }
        case .q4_1: for b in 0..<blocks { q4_1(x.baseAddress! + b * 20, y.baseAddress! + b * 32) }
        case .q4_K: for b in 0..<blocks { q4_K(x.baseAddress! + b * 144, y.baseAddress! + b * 256) }
        case .q5_K: for b in 0..<blocks { q5_K(x.baseAddress! + b * 176, y.baseAddress! + b * 256) }
        case .q6_K: for b in 0..<blocks { q6_K(x.baseAddress! + b * 210, y.baseAddress! + b * 256) }
        default: preconditionFailure("dequantize: \(type.name) is not in GGMLDequantize.supported")
        }
    }

    /// The f16 at `p` as f32.
    @inline(__always) private static func half(_ p: UnsafeRawPointer) -> Float {
        HalfFloat.f16ToFloat(p.loadUnaligned(as: UInt16.self).littleEndian)
    }

    @inline(__always) private static func byte(_ p: UnsafeRawPointer, _ i: Int) -> UInt8 { p.load(fromByteOffset: i, as: UInt8.self) }

    private static func q8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: byte(x, 2 + j))) * d }
    }

    private static func q4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x)
        for j in 0..<16 {
            let q = byte(x, 2 + j)
            y[j] = Float(Int(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    private static func q4_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x), m = half(x + 2)
        for j in 0..<16 {
            let q = byte(x, 4 + j)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// The 6-bit scale and min of sub-block `j` (0..<8) from the 12 packed bytes (`get_scale_min_k4`).
    @inline(__always) private static func scaleMin(_ j: Int, _ q: UnsafeRawPointer) -> (Float, Float) {
        if j < 4 { return (Float(byte(q, j) & 63), Float(byte(q, j + 4) & 63)) }
        let sc = (byte(q, j + 4) & 0x0F) | ((byte(q, j - 4) >> 6) << 4)
        let m = (byte(q, j + 4) >> 4) | ((byte(q, j) >> 6) << 4)
        return (Float(sc), Float(m))
    }

    private static func q4_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x), dmin = half(x + 2), scales = x + 4, qs = x + 16
        for chunk in 0..<4 {   // 64 values: two sub-blocks of 32 sharing 32 bytes (low, then high nibbles)
            let (sc1, m1) = scaleMin(2 * chunk, scales), (sc2, m2) = scaleMin(2 * chunk + 1, scales)
            let d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2
            let q = qs + 32 * chunk, out = y + 64 * chunk
            for l in 0..<32 {
                out[l] = d1 * Float(byte(q, l) & 0x0F) - min1
                out[l + 32] = d2 * Float(byte(q, l) >> 4) - min2
            }
        }
    }

    private static func q5_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x), dmin = half(x + 2), scales = x + 4, qh = x + 16, qs = x + 48
        for chunk in 0..<4 {
            let (sc1, m1) = scaleMin(2 * chunk, scales), (sc2, m2) = scaleMin(2 * chunk + 1, scales)
            let d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2
            let u1 = UInt8(1) << (2 * chunk), u2 = UInt8(2) << (2 * chunk)
            let q = qs + 32 * chunk, out = y + 64 * chunk
            for l in 0..<32 {
                let high = byte(qh, l)
                out[l] = d1 * Float((byte(q, l) & 0x0F) + (high & u1 != 0 ? 16 : 0)) - min1
                out[l + 32] = d2 * Float((byte(q, l) >> 4) + (high & u2 != 0 ? 16 : 0)) - min2
            }
        }
    }

    private static func q6_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(x + 208)
        for half128 in 0..<2 {
            let ql = x + 64 * half128, qh = x + 128 + 32 * half128, sc = x + 192 + 8 * half128
            let out = y + 128 * half128
            func scale(_ i: Int) -> Float { d * Float(Int8(bitPattern: byte(sc, i))) }
            for l in 0..<32 {
                let s = l / 16, h = byte(qh, l)
                let q1 = Int((byte(ql, l) & 0x0F) | ((h >> 0) & 3) << 4) - 32
                let q2 = Int((byte(ql, l + 32) & 0x0F) | ((h >> 2) & 3) << 4) - 32
                let q3 = Int((byte(ql, l) >> 4) | ((h >> 4) & 3) << 4) - 32
                let q4 = Int((byte(ql, l + 32) >> 4) | ((h >> 6) & 3) << 4) - 32
                out[l] = scale(s) * Float(q1)
                out[l + 32] = scale(s + 2) * Float(q2)
                out[l + 64] = scale(s + 4) * Float(q3)
                out[l + 96] = scale(s + 6) * Float(q4)
            }
        }
    }
}
