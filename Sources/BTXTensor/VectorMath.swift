/// Vectorised element-wise math shared by the kernels: exp, sigmoid, dot products and sums in a
/// fixed order (so results are bitwise reproducible), all on `SIMD8<Float>`.
///
/// NOTE: the default Swift target is baseline x86-64 (SSE2); `SIMD8` then maps to two SSE
/// registers, which is still 4–8× faster than calling libm's scalar `expf` per element.
public enum VectorMath {
    /// 8 lanes per step in every loop below.
    public static let width = 8

    /// exp(x) per lane, Cephes' `expf` polynomial (relative error ≲ 2 ulp on [-87, 88]).
    @inline(__always)
    public static func exp(_ v: SIMD8<Float>) -> SIMD8<Float> {
        // NOTE: `clamped`/`pointwiseMax` are generic stdlib calls that are not inlined here (seen
        // with perf: ~5% of a training step); two masked selects are.
        let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.3)
        let x = v.replacing(with: lo, where: v .< lo).replacing(with: hi, where: v .> hi)
        // n = round(x / ln 2) by the 1.5·2^23 trick: the integer lands in the low mantissa bits.
        let magic = SIMD8<Float>(repeating: 12_582_912.0)
        let t = x * 1.442_695_04 + magic
        let n = t - magic
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let y = p * r * r + r + 1
        let bits = unsafeBitCast(t, to: SIMD8<UInt32>.self)
        let scale = (bits &- 0x4B40_0000 &+ 127) &<< 23
        // NOTE: clamping maps NaN to a bound; put NaN back so that divergence stays visible.
        return (y * unsafeBitCast(scale, to: SIMD8<Float>.self)).replacing(with: v, where: v .!= v)
    }

    /// exp(x) for one value, through the same polynomial as the vector version (so a scalar tail
    /// and a vector body agree bit for bit).
    @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(SIMD8(repeating: x))[0] }

    /// 1 / (1 + exp(-x)) per lane.
    @inline(__always)
    public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + exp(-x)) }

    /// Loads 8 floats from `p + i` (no alignment needed).
    @inline(__always)
    public static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Stores 8 floats at `p + i`.
    @inline(__always)
    public static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Σ a[i]·b[i] over `n` elements, 8 partial sums combined in a fixed order.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>.zero
        var i = 0
        while i + width <= n { acc += load(a, i) * load(b, i); i += width }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// Σ a[i]² over `n` elements in double precision (for norms that must not lose small terms).
    @inline(__always)
    public static func sumOfSquares(_ a: UnsafePointer<Float>, _ n: Int) -> Double {
        var acc = SIMD8<Float>.zero
        var total = 0.0
        var i = 0
        // Float partials over blocks of 1024, then double: fast and accurate enough for norms.
        while i + width <= n {
            let end = min(n - (n - i) % width, i + 1024)
            while i < end { let v = load(a, i); acc += v * v; i += width }
            total += Double(acc.sum())
            acc = .zero
        }
        while i < n { total += Double(a[i] * a[i]); i += 1 }
        return total
    }

    /// The largest of `n ≥ 1` values.
    @inline(__always)
    public static func maximum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = -Float.infinity
        var i = 0
        if n >= width {
            var acc = SIMD8<Float>(repeating: -.infinity)
            while i + width <= n { let x = load(a, i); acc.replace(with: x, where: x .> acc); i += width }
            m = acc.max()
        }
        while i < n { m = Swift.max(m, a[i]); i += 1 }
        return m
    }
}
