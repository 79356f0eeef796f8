import Foundation

/// Rotary position embedding tables in the Hugging Face Llama convention ("rotate half"):
/// `inv_freq[i] = θ^(−2i/D)`, angle `= position · inv_freq[i]` for `i < D/2`.
public struct RoPETable {
    /// Head size the table was built for.
    public let headSize: Int
    /// Number of positions covered.
    public let positions: Int
    /// cos and sin of the angles, `[positions, D/2]` each.
    public let cos: [Float], sin: [Float]

    /// Builds the table for `positions` positions (angles in double, then rounded to Float).
    public init(headSize D: Int, positions: Int, theta: Double) {
        precondition(D % 2 == 0, "RoPE needs an even head size")
        headSize = D
        self.positions = positions
        let half = D / 2
        var c = [Float](repeating: 0, count: positions * half), s = c
        for p in 0..<positions {
            for i in 0..<half {
                // NOTE: HF computes inv_freq in float32; matching that keeps imported models exact.
                let invFreq = Float(1.0 / Foundation.pow(theta, Double(2 * i) / Double(D)))
                let angle = Double(Float(p) * invFreq)
                c[p * half + i] = Float(Foundation.cos(angle))
                s[p * half + i] = Float(Foundation.sin(angle))
            }
        }
        cos = c
        sin = s
    }
}

/// Rotates `x[B, T, NH, D]` in place by position `start + t` (HF `apply_rotary_pos_emb`):
/// `x'[i] = x[i]·cos − x[i+D/2]·sin`, `x'[i+D/2] = x[i+D/2]·cos + x[i]·sin`. Rows are `stride`
/// floats apart (default `NH·D`; more when `x` is a view into a fused `[q|k|v]`).
public func ropeForward(_ x: UnsafeMutablePointer<Float>, _ table: RoPETable,
                        _ B: Int, _ T: Int, _ NH: Int, _ D: Int, start: Int = 0, stride: Int? = nil, threads: Int = 1) {
    ropeRotate(x, table, B, T, NH, D, start: start, stride: stride ?? NH * D, sign: 1, threads: threads)
}

/// Backward of `ropeForward`, in place on the gradient: the rotation's transpose (angle negated).
public func ropeBackward(_ dx: UnsafeMutablePointer<Float>, _ table: RoPETable,
                         _ B: Int, _ T: Int, _ NH: Int, _ D: Int, start: Int = 0, stride: Int? = nil, threads: Int = 1) {
    ropeRotate(dx, table, B, T, NH, D, start: start, stride: stride ?? NH * D, sign: -1, threads: threads)
}

@inline(__always)
private func ropeRotate(_ x: UnsafeMutablePointer<Float>, _ table: RoPETable, _ B: Int, _ T: Int, _ NH: Int, _ D: Int,
                        start: Int, stride: Int, sign: Float, threads: Int) {
    precondition(D == table.headSize && start + T <= table.positions, "RoPE table too small")
    table.cos.withUnsafeBufferPointer { cosTable in
        table.sin.withUnsafeBufferPointer { sinTable in
            parallelFor(B * T, threads: threads, RoPERow(x: x, cos: cosTable.baseAddress!, sin: sinTable.baseAddress!,
                                                         T: T, NH: NH, D: D, start: start, stride: stride, sign: sign))
        }
    }
}

/// Row `r` (batch r / T, position start + r % T) of `ropeForward` / `ropeBackward`: every head.
struct RoPERow: ParallelKernel {
    let x: UnsafeMutablePointer<Float>, cos, sin: UnsafePointer<Float>
    let T: Int, NH: Int, D: Int, start: Int, stride: Int, sign: Float

    func callAsFunction(_ r: Int) {
        let half = D / 2, cs = cos + (start + r % T) * half, sn = sin + (start + r % T) * half
        for h in 0..<NH {
            let lo = x + r * stride + h * D, hi = lo + half
            var i = 0
            while i + 8 <= half {
                let a = VectorMath.load(lo, i), c = VectorMath.load(hi, i)
                let cv = VectorMath.load(cs, i), s = sign * VectorMath.load(sn, i)
                VectorMath.store(a * cv - c * s, lo, i)
                VectorMath.store(c * cv + a * s, hi, i)
                i += 8
            }
            while i < half {
                let a = lo[i], c = hi[i], s = sign * sn[i]
                lo[i] = a * cs[i] - c * s
                hi[i] = c * cs[i] + a * s
                i += 1
            }
        }
    }
}
