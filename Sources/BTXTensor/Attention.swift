import CBLAS
import Foundation

/// Causal multi-head attention with grouped-query heads (HF `LlamaAttention` after the
/// projections and RoPE): head `h` reads key/value head `h / (H / KVH)` (HF `repeat_kv`).
///
/// Query row `i` sits at position `Tk − Tq + i` and sees keys `0...Tk − Tq + i`, so the same kernel
/// serves training (`Tq == Tk`) and cached generation (a few new queries against the whole cache).
/// Every product is a per-(batch, head) `cblas_sgemm` on strided views; (batch, kv-head) groups run
/// in parallel with single-threaded BLAS, and each group writes only its own outputs.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, _ att: UnsafeMutablePointer<Float>,
                             _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             _ B: Int, _ Tq: Int, _ Tk: Int, _ H: Int, _ KVH: Int, _ D: Int,
                             threads: Int = 1) {
    // out: [B, Tq, H, D]     att: [B, H, Tq, Tk] (softmax probabilities, zero above the diagonal)
    // q:   [B, Tq, H, D]     k, v: [B, Tk, KVH, D]
    let groups = H / KVH
    let qStride = H * D, kvStride = KVH * D
    withSingleThreadedBLAS {
        parallelFor(B * H, threads: threads) { bh in
            let b = bh / H, h = bh % H, g = h / groups
            let qh = q + b * Tq * qStride + h * D
            let kg = k + b * Tk * kvStride + g * D, vg = v + b * Tk * kvStride + g * D
            let a = att + bh * Tq * Tk
            attentionProbabilities(a, qh, kg, Tq, Tk, D, qStride: qStride, kvStride: kvStride)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(Tq), Int32(D), Int32(Tk),
                        1, a, Int32(Tk), vg, Int32(kvStride), 0, out + b * Tq * qStride + h * D, Int32(qStride))
        }
    }
}

/// P = causal softmax(Q·Kᵀ / √D) for one (batch, head): `a[Tq, Tk]`.
@inline(__always)
func attentionProbabilities(_ a: UnsafeMutablePointer<Float>, _ qh: UnsafePointer<Float>,
                            _ kg: UnsafePointer<Float>, _ Tq: Int, _ Tk: Int, _ D: Int,
                            qStride: Int, kvStride: Int) {
    let scale = 1 / Float(D).squareRoot()
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(Tq), Int32(Tk), Int32(D),
                scale, qh, Int32(qStride), kg, Int32(kvStride), 0, a, Int32(Tk))
    for i in 0..<Tq {
        let row = a + i * Tk
        let visible = Tk - Tq + i + 1
        softmaxInPlace(row, visible)
        (row + visible).update(repeating: 0, count: Tk - visible)
    }
}

/// Backward of `attentionForward`. Overwrites `dq`, `dk`, `dv`; `att` and `datt` are scratch of
/// `[B, H, Tq, Tk]` each (the probabilities are recomputed from `q` and `k`, so the forward pass
/// need not keep them per layer).
public func attentionBackward(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>,
                              _ dv: UnsafeMutablePointer<Float>, _ att: UnsafeMutablePointer<Float>,
                              _ datt: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                              _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                              _ B: Int, _ Tq: Int, _ Tk: Int, _ H: Int, _ KVH: Int, _ D: Int,
                              threads: Int = 1) {
    // dq, dout, q: [B, Tq, H, D];  dk, dv, k, v: [B, Tk, KVH, D]
    let groups = H / KVH
    let qStride = H * D, kvStride = KVH * D
    let scale = 1 / Float(D).squareRoot()
    withSingleThreadedBLAS {
        // One work item per (batch, kv head): the heads sharing a kv head add into the same
        // dk/dv rows, in head order, inside one item.
        parallelFor(B * KVH, threads: threads) { bg in
            let b = bg / KVH, g = bg % KVH
            let kg = k + b * Tk * kvStride + g * D, vg = v + b * Tk * kvStride + g * D
            let dkg = dk + b * Tk * kvStride + g * D, dvg = dv + b * Tk * kvStride + g * D
            for t in 0..<Tk {
                (dkg + t * kvStride).update(repeating: 0, count: D)
                (dvg + t * kvStride).update(repeating: 0, count: D)
            }
            for h in g * groups..<(g + 1) * groups {
                let offset = b * Tq * qStride + h * D
                let a = att + (b * H + h) * Tq * Tk, da = datt + (b * H + h) * Tq * Tk
                attentionProbabilities(a, q + offset, kg, Tq, Tk, D, qStride: qStride, kvStride: kvStride)
                // dP = dO · Vᵀ;  dV += Pᵀ · dO
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(Tq), Int32(Tk), Int32(D),
                            1, dout + offset, Int32(qStride), vg, Int32(kvStride), 0, da, Int32(Tk))
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(Tk), Int32(D), Int32(Tq),
                            1, a, Int32(Tk), dout + offset, Int32(qStride), 1, dvg, Int32(kvStride))
                for i in 0..<Tq {
                    let visible = Tk - Tq + i + 1
                    softmaxBackwardInPlace(da + i * Tk, a + i * Tk, visible, scale: scale)
                    (da + i * Tk + visible).update(repeating: 0, count: Tk - visible)
                }
                // dQ = dS · K;  dK += dSᵀ · Q   (dS already carries the 1/√D)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(Tq), Int32(D), Int32(Tk),
                            1, da, Int32(Tk), kg, Int32(kvStride), 0, dq + offset, Int32(qStride))
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(Tk), Int32(D), Int32(Tq),
                            1, da, Int32(Tk), q + offset, Int32(qStride), 1, dkg, Int32(kvStride))
            }
        }
    }
}

/// Numerically stable softmax of `x[0..<n]` in place.
@inline(__always)
public func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = VectorMath.maximum(x, n)
    var acc = SIMD8<Float>.zero
    var i = 0
    while i + 8 <= n {
        let e = VectorMath.exp(VectorMath.load(x, i) - m)
        VectorMath.store(e, x, i)
        acc += e
        i += 8
    }
    var sum = acc.sum()
    while i < n { let e = VectorMath.exp(x[i] - m); x[i] = e; sum += e; i += 1 }
    let inv = 1 / sum
    i = 0
    while i + 8 <= n { VectorMath.store(VectorMath.load(x, i) * inv, x, i); i += 8 }
    while i < n { x[i] *= inv; i += 1 }
}

/// Softmax backward for one row, in place on `dp` (`p` the probabilities):
/// `ds[j] = scale · p[j] · (dp[j] − Σ p·dp)` for `j < n`, zero beyond.
@inline(__always)
func softmaxBackwardInPlace(_ dp: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ n: Int, scale: Float) {
    let s = VectorMath.dot(p, dp, n)
    var i = 0
    while i + 8 <= n {
        let g = VectorMath.load(p, i) * (VectorMath.load(dp, i) - s) * scale
        VectorMath.store(g, dp, i)
        i += 8
    }
    while i < n { dp[i] = p[i] * (dp[i] - s) * scale; i += 1 }
}
