import CBLAS

/// A linear layer without bias, as Hugging Face's `nn.Linear(bias=False)`:
/// `out[N, OC] = inp[N, C] · weight[OC, C]ᵀ` through `cblas_sgemm`.
/// With `accumulate` the product is added to `out` instead of replacing it.
///
/// With `threads > 1` the product is split into one block per thread, each a single-threaded sgemm
/// (see `BLASRuntime.useCallerThreadOnly`): blocks of rows, or of output columns when the weight has
/// far more rows than the input (`columnParts`: a prompt's pass in generation, a chunk of rows
/// through a large vocabulary's head). Each output element is the same dot product in the same
/// order whatever the split, so the result does not depend on the thread count.
@inline(__always)
public func matmulForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ N: Int, _ C: Int, _ OC: Int,
                          accumulate: Bool = false, threads: Int = 1) {
    // out:    [N, OC]
    // inp:    [N, C]
    // weight: [OC, C]
    if N == 1 { return matvecForward(out, inp, weight, C, OC, accumulate: accumulate, threads: threads) }  // a decode step
    let beta: Float = accumulate ? 1 : 0
    if let parts = columnParts(N, C, OC, threads) {
        parallelFor(parts, threads: parts, MatmulForwardColumns(out: out, inp: inp, weight: weight, N: N, C: C, OC: OC,
                                                                beta: beta, parts: parts))
    } else {
        let parts = matmulParts(N, threads, rowWork: C * OC)
        parallelFor(parts, threads: parts, MatmulForwardBlock(out: out, inp: inp, weight: weight, N: N, C: C, OC: OC,
                                                              beta: beta, parts: parts))
    }
}

/// The blocks of output columns `matmulForward` splits a product `[N, C]·[OC, C]ᵀ` into, or nil when
/// it splits rows: columns when the weight has at least 4× the input's rows and they split at all.
/// NOTE: every sgemm packs both of its operands first, so a row block packs the whole weight and a
/// column block the whole input. For a 6-token prompt through SmolLM2, packing the weights was 4× the
/// multiplying, on one thread (6 rows do not split); split by columns, each thread packs half of
/// them. A 256-row chunk through its 49k-row head: 12% faster by columns. Between 1× and 3× the
/// input's rows the two splits measured the same (interleaved A/B, noise ±10%), so rows stay.
@inline(__always)
func columnParts(_ N: Int, _ C: Int, _ OC: Int, _ threads: Int) -> Int? {
    guard OC >= 4 * N else { return nil }
    let parts = matmulParts(OC, threads, rowWork: N * C, align: matmulColumnGrid)
    return parts > 1 ? parts : nil
}

/// Column blocks start on multiples of 48 floats: whole micro-kernel widths (16 on AVX-512, 8 and 24
/// on AVX2; a multiple of `blockRowGrid`) and whole cache lines where rows start on one (then two
/// threads never share a line).
let matmulColumnGrid = 48

/// Backward of `matmulForward`: `dweight[OC, C] += doutᵀ · inp` and `dinp[N, C] = dout · weight`
/// (overwritten, or added with `accumulateInput`; skipped when `dinp` is nil). A nil `dweight` (a
/// frozen weight) skips the weight-gradient product. With `threads > 1` each thread computes a block
/// of `dinp`'s rows and a block of `dweight`'s rows in one region.
@inline(__always)
public func matmulBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>?,
                           _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                           _ weight: UnsafePointer<Float>, _ N: Int, _ C: Int, _ OC: Int,
                           accumulateInput: Bool = false, threads: Int = 1) {
    // dinp:    [N, C]
    // dweight: [OC, C]
    // dout:    [N, OC]
    let parts = min(matmulParts(N, threads, rowWork: OC * C), matmulParts(OC, threads, rowWork: N * C))
    parallelFor(parts, threads: parts, MatmulBackwardBlock(dinp: dinp, dweight: dweight, dout: dout, inp: inp, weight: weight,
                                                           N: N, C: C, OC: OC, beta: accumulateInput ? 1 : 0, parts: parts))
}

/// Block `p` of `parts` of `matmulForward`'s rows.
struct MatmulForwardBlock: ParallelKernel {
    let out: UnsafeMutablePointer<Float>, inp, weight: UnsafePointer<Float>, N: Int, C: Int, OC: Int, beta: Float, parts: Int

    func callAsFunction(_ p: Int) {
        let rows = blockRange(p, of: parts, count: N)
        guard !rows.isEmpty else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows.count), Int32(OC), Int32(C),
                    1, inp + rows.lowerBound * C, Int32(C), weight, Int32(C), beta, out + rows.lowerBound * OC, Int32(OC))
    }
}

/// Block `p` of `parts` of `matmulForward`'s output columns (the weight's rows).
struct MatmulForwardColumns: ParallelKernel {
    let out: UnsafeMutablePointer<Float>, inp, weight: UnsafePointer<Float>, N: Int, C: Int, OC: Int, beta: Float, parts: Int

    func callAsFunction(_ p: Int) {
        let columns = blockRange(p, of: parts, count: OC, align: matmulColumnGrid)
        guard !columns.isEmpty else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(N), Int32(columns.count), Int32(C),
                    1, inp, Int32(C), weight + columns.lowerBound * C, Int32(C), beta, out + columns.lowerBound, Int32(OC))
    }
}

/// Block `p` of `parts` of `matmulBackward`: a block of `dinp`'s rows, then one of `dweight`'s.
struct MatmulBackwardBlock: ParallelKernel {
    let dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dout, inp, weight: UnsafePointer<Float>
    let N: Int, C: Int, OC: Int, beta: Float, parts: Int

    func callAsFunction(_ p: Int) {
        let rows = blockRange(p, of: parts, count: N), outs = blockRange(p, of: parts, count: OC)
        if let dinp, !rows.isEmpty {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows.count), Int32(C), Int32(OC),
                        1, dout + rows.lowerBound * OC, Int32(OC), weight, Int32(C), beta, dinp + rows.lowerBound * C, Int32(C))
        }
        if let dweight, !outs.isEmpty {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(outs.count), Int32(C), Int32(N),
                        1, dout + outs.lowerBound, Int32(OC), inp, Int32(C), 1, dweight + outs.lowerBound * C, Int32(C))
        }
    }
}

/// Blocks to split a product with `rows` output rows (or columns) of `rowWork` multiply-adds each into: one per
/// thread, but none smaller than 32 rows (below that the split costs more than it saves), and none
/// of OpenBLAS's small-matrix size unless the whole product is.
/// NOTE: OpenBLAS's AVX-512 (SkylakeX) kernels send products of M·N·K ≤ 100³ to small-matrix
/// kernels that round differently from its blocked ones (and malloc a scratch buffer per call). A
/// split that crossed that bound would make results depend on the thread count; this way every
/// product runs through the same kernel at 1, 2 or 3 threads, on every CPU.
@inline(__always)
func matmulParts(_ rows: Int, _ threads: Int, rowWork: Int, align: Int = blockRowGrid) -> Int {
    var parts = max(1, min(threads, rows / 32))
    while parts > 1 && smallestBlock(rows, of: parts, align: align) * rowWork <= openBLASSmallProduct { parts -= 1 }
    return parts
}

/// The fewest rows any non-empty block of `blockRange(_, of: parts, count: rows, align: align)` gets
/// (its blocks are rounded up to the grid, so the last one can be much shorter than `rows / parts`).
@inline(__always)
func smallestBlock(_ rows: Int, of parts: Int, align: Int = blockRowGrid) -> Int {
    var smallest = rows
    for p in 0..<parts {
        let n = blockRange(p, of: parts, count: rows, align: align).count
        if n > 0 { smallest = min(smallest, n) }
    }
    return smallest
}

/// The largest product (M·N·K) OpenBLAS 0.3.21 may hand to its small-matrix kernels.
let openBLASSmallProduct = 100 * 100 * 100
