import CBLAS

/// `matmulForward` for one input row (a decode step of generation): `out[OC] (+)= weight[OC, C] · inp[C]`
/// through `cblas_sgemv`, the weight's rows split into one block per thread.
///
/// NOTE: a one-row sgemm cannot be split by rows (there is one), and OpenBLAS 0.3.21 packs the whole
/// weight for it; a decode step is memory-bound, so reading each weight once, on every core, is what
/// makes it fast. Each output is one dot product whatever the split: the result does not depend on
/// the thread count.
@inline(__always)
public func matvecForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ C: Int, _ OC: Int,
                          accumulate: Bool = false, threads: Int = 1) {
    // out:    [OC]
    // inp:    [C]
    // weight: [OC, C]
    let parts = max(1, min(threads, OC * C / 65_536))  // below ~64K weights a split costs more than it saves
    parallelFor(parts, threads: parts, MatvecForwardBlock(out: out, inp: inp, weight: weight, C: C, OC: OC,
                                                          beta: accumulate ? 1 : 0, parts: parts))
}

/// Block `p` of `parts` of `matvecForward`'s outputs (on `blockRange`'s grid).
struct MatvecForwardBlock: ParallelKernel {
    let out: UnsafeMutablePointer<Float>, inp, weight: UnsafePointer<Float>, C: Int, OC: Int, beta: Float, parts: Int

    func callAsFunction(_ p: Int) {
        let rows = blockRange(p, of: parts, count: OC)
        guard !rows.isEmpty else { return }
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows.count), Int32(C), 1, weight + rows.lowerBound * C, Int32(C),
                    inp, 1, beta, out + rows.lowerBound, 1)
    }
}
