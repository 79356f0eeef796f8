import CBLAS

/// A linear layer without bias, as Hugging Face's `nn.Linear(bias=False)`:
/// `out[N, OC] = inp[N, C] · weight[OC, C]ᵀ` through `cblas_sgemm`.
/// With `accumulate` the product is added to `out` instead of replacing it.
@inline(__always)
public func matmulForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ N: Int, _ C: Int, _ OC: Int,
                          accumulate: Bool = false) {
    // out:    [N, OC]
    // inp:    [N, C]
    // weight: [OC, C]
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(N), Int32(OC), Int32(C),
                1, inp, Int32(C), weight, Int32(C), accumulate ? 1 : 0, out, Int32(OC))
}

/// Backward of `matmulForward`: `dweight[OC, C] += doutᵀ · inp` and `dinp[N, C] = dout · weight`
/// (overwritten, or added with `accumulateInput`; skipped when `dinp` is nil). A nil `dweight` (a
/// frozen weight) skips the weight-gradient product.
@inline(__always)
public func matmulBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>?,
                           _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                           _ weight: UnsafePointer<Float>, _ N: Int, _ C: Int, _ OC: Int,
                           accumulateInput: Bool = false) {
    // dinp:    [N, C]
    // dweight: [OC, C]
    // dout:    [N, OC]
    if let dinp {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(N), Int32(C), Int32(OC),
                    1, dout, Int32(OC), weight, Int32(C), accumulateInput ? 1 : 0, dinp, Int32(C))
    }
    guard let dweight else { return }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(OC), Int32(C), Int32(N),
                1, dout, Int32(OC), inp, Int32(C), 1, dweight, Int32(C))
}
