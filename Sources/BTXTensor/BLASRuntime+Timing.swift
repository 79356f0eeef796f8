import CBLAS
import Dispatch

extension BLASRuntime {
    /// Median-of-`repeats` seconds (comparable with a median training step on a shared machine) of one `C[m×n] = op(A)·op(B)` with `cblas_sgemm` (row-major; op is a
    /// transpose where asked), on buffers allocated for the call.
    public static func timeSGEMM(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, repeats: Int = 5) -> Double {
        let a = Buffer<Float>(count: m * k), b = Buffer<Float>(count: k * n), out = Buffer<Float>(count: m * n)
        for i in 0..<a.count { a.pointer[i] = Float(i % 7) * 0.1 }
        for i in 0..<b.count { b.pointer[i] = Float(i % 5) * 0.1 }
        var times = [Double]()
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), 1, a.pointer, Int32(transposeA ? m : k), b.pointer,
                        Int32(transposeB ? k : n), 0, out.pointer, Int32(n))
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }
}
