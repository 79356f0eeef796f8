import CBLAS
import Dispatch

extension BLASRuntime {
    /// Median-of-`repeats` seconds (comparable with a median training step on a shared machine) of
    /// one `C[m×n] = op(A)·op(B)` with `cblas_sgemm` (row-major; op is a transpose where asked), on
    /// buffers allocated for the call, using `threads` threads the fastest way: OpenBLAS's own
    /// threading, or the rows of C split into one single-threaded sgemm per thread, or its columns
    /// where `matmulForward` splits those (`columnParts`). The reference that MFU is measured against.
    public static func timeSGEMM(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, threads: Int = 1,
                                 repeats: Int = 5) -> Double {
        let a = Buffer<Float>(count: m * k), b = Buffer<Float>(count: k * n), out = Buffer<Float>(count: m * n)
        for i in 0..<a.count { a.pointer[i] = Float(i % 7) * 0.1 }
        for i in 0..<b.count { b.pointer[i] = Float(i % 5) * 0.1 }
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        func product(_ rows: Range<Int>, _ columns: Range<Int>? = nil) {
            let columns = columns ?? 0..<n
            cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(rows.count), Int32(columns.count), Int32(k), 1,
                        a.pointer + rows.lowerBound * (transposeA ? 1 : lda), Int32(lda),
                        b.pointer + columns.lowerBound * (transposeB ? ldb : 1), Int32(ldb), 0,
                        out.pointer + rows.lowerBound * n + columns.lowerBound, Int32(n))
        }
        func median(_ run: () -> Void) -> Double {
            var times = [Double]()
            for _ in 0..<max(1, repeats) {
                let start = DispatchTime.now().uptimeNanoseconds
                run()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return times.sorted()[times.count / 2]
        }
        let threaded = withThreads(threads) { median { product(0..<m) } }
        guard threads > 1 else { return threaded }
        let parts = max(1, min(threads, m / 32))
        let split = withThreads(1) {
            median { parallelFor(parts, threads: parts) { product(blockRange($0, of: parts, count: m)) } }
        }
        guard let columnParts = columnParts(m, k, n, threads) else { return min(threaded, split) }
        let byColumns = withThreads(1) {
            median {
                parallelFor(columnParts, threads: columnParts) {
                    product(0..<m, blockRange($0, of: columnParts, count: n, align: matmulColumnGrid))
                }
            }
        }
        return min(threaded, split, byColumns)
    }
}
