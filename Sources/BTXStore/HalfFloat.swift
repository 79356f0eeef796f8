/// Conversions between f32 and the 16-bit float formats stored in tensors (bf16, IEEE f16).
/// Bit-level and portable (no `Float16`, which some platforms lack); narrowing rounds to nearest even.
public enum HalfFloat {
    /// bf16 bits → f32 (exact: bf16 is the top half of an f32).
    @inline(__always) public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// f32 → bf16 bits, rounding to nearest even; NaN stays NaN.
    @inline(__always) public static func floatToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    /// IEEE half bits → f32 (exact, including subnormals, infinities and NaN).
    @inline(__always) public static func f16ToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            // NOTE: zero or subnormal: value = mantissa × 2^-24, exact in f32.
            let magnitude = Float(mantissa) * Float(bitPattern: 0x3380_0000)
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// f32 → IEEE half bits, rounding to nearest even; overflow gives infinity, NaN stays NaN.
    public static func floatToF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude > 0x7F80_0000 { return sign | 0x7E00 }                        // NaN
        if Float(bitPattern: magnitude) >= 65520 { return sign | 0x7C00 }                  // rounds past 65504: infinity
        if magnitude < 0x3880_0000 {                                                   // below 2^-14: subnormal half
            // NOTE: scale so the half's subnormal unit (2^-24) becomes 1, then round half to even.
            let scaled = Float(bitPattern: magnitude) * Float(bitPattern: 0x4B80_0000)   // × 2^24
            return sign | UInt16(scaled.rounded(.toNearestOrEven))
        }
        let rounded = magnitude &+ 0x0FFF &+ ((magnitude >> 13) & 1)
        return sign | UInt16((rounded >> 13) &- (112 << 10))
    }

    /// Converts a buffer of bf16 bits to f32.
    public static func bf16ToFloat(_ source: UnsafeBufferPointer<UInt16>, _ destination: UnsafeMutableBufferPointer<Float>) {
        precondition(source.count == destination.count)
        for i in 0..<source.count { destination[i] = bf16ToFloat(source[i]) }
    }

    /// Converts a buffer of IEEE half bits to f32.
    public static func f16ToFloat(_ source: UnsafeBufferPointer<UInt16>, _ destination: UnsafeMutableBufferPointer<Float>) {
        precondition(source.count == destination.count)
        for i in 0..<source.count { destination[i] = f16ToFloat(source[i]) }
    }
}
