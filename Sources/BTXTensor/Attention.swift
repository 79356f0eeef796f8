import CBLAS
import Foundation

/// Causal multi-head attention with grouped-query heads (HF `LlamaAttention` after the
/// projections and RoPE): head `h` reads key/value head `h / (H / KVH)` (HF `repeat_kv`).
///
/// Query row `i` sits at position `Tk − Tq + i` and sees keys `0...Tk − Tq + i`, so the same kernel
/// serves training (`Tq == Tk`) and cached generation (a few new queries against the whole cache).
/// Every product is a per-(batch, head) `cblas_sgemm` on strided views; (batch, head) items run in
/// parallel, each a single-threaded sgemm (`BLASRuntime.useCallerThreadOnly`), and each item writes
/// only its own outputs.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, _ att: UnsafeMutablePointer<Float>,
                             _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             _ B: Int, _ Tq: Int, _ Tk: Int, _ H: Int, _ KVH: Int, _ D: Int,
                             qStride: Int? = nil, kvStride: Int? = nil, threads: Int = 1) {
    // out: [B, Tq, H, D]     att: [B, H, Tq, Tk] (softmax probabilities; entries above the diagonal
    // q:   [B, Tq, H, D]          are never read, and left unspecified)
    // k, v: [B, Tk, KVH, D]  (q, k, v rows `qStride` / `kvStride` apart: views into a fused [q|k|v])
    let view = AttentionView(B: B, Tq: Tq, Tk: Tk, H: H, KVH: KVH, D: D,
                             qStride: qStride ?? H * D, kvStride: kvStride ?? KVH * D)
    parallelFor(B * H, threads: threads, AttentionForwardHead(view: view, out: out, att: att, q: q, k: k, v: v))
}

/// One (batch, head) item of `attentionForward`.
struct AttentionForwardHead: ParallelKernel {
    let view: AttentionView
    let out, att: UnsafeMutablePointer<Float>, q, k, v: UnsafePointer<Float>

    func callAsFunction(_ bh: Int) {
        let b = bh / view.H, h = bh % view.H, Tq = view.Tq, Tk = view.Tk
        let qh = q + view.queryOffset(b, h), kg = k + view.keyOffset(b, h), vg = v + view.keyOffset(b, h)
        let a = att + bh * Tq * Tk, o = out + view.outputOffset(b, h)
        var r0 = 0
        while r0 < Tq {
            let block = view.block(at: r0), keys = view.visibleKeys(block)
            view.probabilities(a, qh, kg, block)
            // O[block] = P[block, keys] · V[keys]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(block.count), Int32(view.D), Int32(keys),
                        1, a + r0 * Tk, Int32(Tk), vg, Int32(view.kvStride),
                        0, o + r0 * view.outStride, Int32(view.outStride))
            r0 = block.upperBound
        }
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
                              qStride: Int? = nil, kvStride: Int? = nil, threads: Int = 1) {
    // dq, q: [B, Tq, H, D] (rows qStride apart);  dk, dv, k, v: [B, Tk, KVH, D] (rows kvStride apart)
    // dout: [B, Tq, H, D] dense
    let view = AttentionView(B: B, Tq: Tq, Tk: Tk, H: H, KVH: KVH, D: D,
                             qStride: qStride ?? H * D, kvStride: kvStride ?? KVH * D)
    parallelFor(B * KVH, threads: threads, AttentionBackwardGroup(view: view, dq: dq, dk: dk, dv: dv, att: att, datt: datt,
                                                                  dout: dout, q: q, k: k, v: v))
}

/// One (batch, kv head) item of `attentionBackward`: the heads sharing a kv head add into the same
/// dk/dv rows, in head order, inside one item.
struct AttentionBackwardGroup: ParallelKernel {
    let view: AttentionView
    let dq, dk, dv, att, datt: UnsafeMutablePointer<Float>, dout, q, k, v: UnsafePointer<Float>

    func callAsFunction(_ bg: Int) {
        let KVH = view.KVH, D = view.D, b = bg / KVH, g = bg % KVH, groups = view.H / KVH
        let dkg = dk + view.keyOffset(b, g * groups), dvg = dv + view.keyOffset(b, g * groups)
        for t in 0..<view.Tk {
            (dkg + t * view.kvStride).update(repeating: 0, count: D)
            (dvg + t * view.kvStride).update(repeating: 0, count: D)
        }
        for h in g * groups..<(g + 1) * groups {
            var r0 = 0
            while r0 < view.Tq {
                let block = view.block(at: r0)
                view.backwardBlock(b, h, block, dq: dq, dk: dkg, dv: dvg, att: att, datt: datt, dout: dout, q: q, k: k, v: v)
                r0 = block.upperBound
            }
        }
    }
}

/// Index arithmetic of one attention call: strides, the causal window, and the query blocks.
///
/// NOTE: queries run in blocks of 64 rows and each block multiplies only the keys its last row can
/// see, which skips almost half of the products of a causal T × T attention.
struct AttentionView {
    let B: Int, Tq: Int, Tk: Int, H: Int, KVH: Int, D: Int
    /// Row strides of q (and dq) and of k, v (and dk, dv); out and dout are dense `[.., H·D]`.
    let qStride: Int, kvStride: Int
    var outStride: Int { H * D }
    var scale: Float { 1 / Float(D).squareRoot() }
    static let blockRows = 64

    /// Start of head `h` of batch `b` in the q tensor.
    func queryOffset(_ b: Int, _ h: Int) -> Int { b * Tq * qStride + h * D }
    /// Start of head `h` of batch `b` in a dense `[B, Tq, H, D]` tensor (out, dout).
    func outputOffset(_ b: Int, _ h: Int) -> Int { b * Tq * outStride + h * D }
    /// Start of the kv head read by query head `h` of batch `b` in the k or v tensor.
    func keyOffset(_ b: Int, _ h: Int) -> Int { b * Tk * kvStride + (h / (H / KVH)) * D }
    /// The query-row block starting at row `r0`.
    func block(at r0: Int) -> Range<Int> { r0..<min(Tq, r0 + Self.blockRows) }
    /// Keys visible to the last row of `rows` (query i sits at position Tk − Tq + i).
    func visibleKeys(_ rows: Range<Int>) -> Int { Tk - Tq + rows.upperBound }

    /// P[rows, 0..<visible] = causal softmax(Q[rows] · Kᵀ / √D) for one (batch, head) into `a[Tq, Tk]`;
    /// zeros fill each row up to the block's widest window.
    func probabilities(_ a: UnsafeMutablePointer<Float>, _ qh: UnsafePointer<Float>, _ kg: UnsafePointer<Float>,
                       _ rows: Range<Int>) {
        let keys = visibleKeys(rows), r0 = rows.lowerBound
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows.count), Int32(keys), Int32(D),
                    scale, qh + r0 * qStride, Int32(qStride), kg, Int32(kvStride), 0, a + r0 * Tk, Int32(Tk))
        for i in rows {
            let row = a + i * Tk, visible = Tk - Tq + i + 1
            softmaxInPlace(row, visible)
            (row + visible).update(repeating: 0, count: keys - visible)
        }
    }
}

extension AttentionView {
    /// Backward of one query block of head `h` in batch `b`: writes dq's rows, adds into the kv
    /// head's `dk`/`dv` (already offset to that head), using `att`/`datt` as scratch.
    func backwardBlock(_ b: Int, _ h: Int, _ block: Range<Int>, dq: UnsafeMutablePointer<Float>,
                       dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                       att: UnsafeMutablePointer<Float>, datt: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                       q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        let qs = Int32(qStride), ks = Int32(kvStride), os = Int32(outStride), ld = Int32(Tk), d = Int32(D)
        let keys = Int32(visibleKeys(block)), rows = Int32(block.count), r0 = block.lowerBound
        let a = att + (b * H + h) * Tq * Tk, da = datt + (b * H + h) * Tq * Tk
        let qh = q + queryOffset(b, h), kg = k + keyOffset(b, h), vg = v + keyOffset(b, h)
        probabilities(a, qh, kg, block)
        let pb = a + r0 * Tk, db = da + r0 * Tk, qb = qh + r0 * qStride
        let dob = dout + outputOffset(b, h) + r0 * outStride, dqb = dq + queryOffset(b, h) + r0 * qStride
        // dP = dO · Vᵀ;  dV += Pᵀ · dO
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, keys, d, 1, dob, os, vg, ks, 0, db, ld)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, keys, d, rows, 1, pb, ld, dob, os, 1, dv, ks)
        for i in block {
            let visible = visibleKeys(i..<i + 1)
            softmaxBackwardInPlace(da + i * Tk, a + i * Tk, visible, scale: scale)
            (da + i * Tk + visible).update(repeating: 0, count: Int(keys) - visible)
        }
        // dQ = dS · K;  dK += dSᵀ · Q   (dS already carries the 1/√D)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, d, keys, 1, db, ld, kg, ks, 0, dqb, qs)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, keys, d, rows, 1, db, ld, qb, qs, 1, dk, ks)
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
