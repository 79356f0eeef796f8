@testable import BTXTensor
import TestSupport
import XCTest

final class MatmulTests: XCTestCase {
    let N = 5, C = 7, OC = 3

    func forward(_ x: [Float], _ w: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: N * OC)
        matmulForward(&out, x, w, N, C, OC)
        return out
    }

    func testForwardMatchesPlainLoop() {
        let x = GradientCheck.randomFloats(N * C, seed: 1), w = GradientCheck.randomFloats(OC * C, seed: 2)
        let out = forward(x, w)
        for n in 0..<N {
            for o in 0..<OC {
                var ref: Float = 0
                for c in 0..<C { ref += x[n * C + c] * w[o * C + c] }
                XCTAssertEqual(out[n * OC + o], ref, accuracy: 1e-5)
            }
        }
    }

    func testBackwardMatchesFiniteDifferences() {
        let x = GradientCheck.randomFloats(N * C, seed: 1), w = GradientCheck.randomFloats(OC * C, seed: 2)
        let proj = GradientCheck.randomFloats(N * OC, seed: 3)
        var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: OC * C)
        matmulBackward(&dx, &dw, proj, x, w, N, C, OC)
        XCTAssertLessThan(GradientCheck.relativeError(x, analytic: dx) { GradientCheck.project(self.forward($0, w), proj) }, 1e-3)
        XCTAssertLessThan(GradientCheck.relativeError(w, analytic: dw) { GradientCheck.project(self.forward(x, $0), proj) }, 1e-3)
    }

    func testBackwardAccumulatesWeightGradientAndOptionallyInputGradient() {
        let x = GradientCheck.randomFloats(N * C, seed: 1), w = GradientCheck.randomFloats(OC * C, seed: 2)
        let proj = GradientCheck.randomFloats(N * OC, seed: 3)
        var dx1 = [Float](repeating: 0, count: N * C), dw1 = [Float](repeating: 0, count: OC * C)
        matmulBackward(&dx1, &dw1, proj, x, w, N, C, OC)
        var dx2 = dx1, dw2 = dw1
        matmulBackward(&dx2, &dw2, proj, x, w, N, C, OC, accumulateInput: true)
        for i in 0..<dw1.count { XCTAssertEqual(dw2[i], 2 * dw1[i], accuracy: 1e-5) }
        for i in 0..<dx1.count { XCTAssertEqual(dx2[i], 2 * dx1[i], accuracy: 1e-5) }
    }

    /// Split into row blocks over two and three threads (big enough that every product splits, the
    /// blocks not a multiple of the kernels' width, three threads' last block short enough to fall
    /// under OpenBLAS's small-matrix bound were it split that way), forward and backward give the
    /// same bits as one thread: each element is the same dot product with the same micro-kernel.
    func testSplittingOverThreadsChangesNoBits() {
        let N = 100, C = 256, OC = 250
        let x = GradientCheck.randomFloats(N * C, seed: 1), w = GradientCheck.randomFloats(OC * C, seed: 2)
        let dy = GradientCheck.randomFloats(N * OC, seed: 3)
        func run(_ threads: Int) -> [[Float]] {
            var out = [Float](repeating: 0, count: N * OC), dx = [Float](repeating: 0, count: N * C)
            var dw = [Float](repeating: 0, count: OC * C)
            matmulForward(&out, x, w, N, C, OC, threads: threads)
            matmulBackward(&dx, &dw, dy, x, w, N, C, OC, threads: threads)
            return [out, dx, dw]
        }
        XCTAssertEqual(matmulParts(N, 2, rowWork: C * OC), 2)
        let one = run(1)
        for threads in [2, 3] {
            let other = run(threads)
            for (i, name) in ["out", "dx", "dw"].enumerated() {
                let differing = zip(one[i], other[i]).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(name) at \(threads) threads: \(differing) elements differ")
            }
        }
    }

    /// A short input against a wide weight (a prompt's pass) is split by output columns over two and
    /// three threads, ragged last blocks included, and gives one thread's bits; so does accumulating.
    func testSplittingByColumnsChangesNoBits() {
        for (N, C, OC) in [(6, 576, 960), (6, 1_536, 576), (40, 128, 2_048), (130, 64, 700)] {
            XCTAssertEqual(matmulParts(N, 2, rowWork: C * OC), N < 64 ? 1 : 2)
            XCTAssertEqual(columnParts(N, C, OC, 2), 2, "\(N)×\(C)×\(OC) splits by columns")
            let x = GradientCheck.randomFloats(N * C, seed: 4), w = GradientCheck.randomFloats(OC * C, seed: 5)
            let start = GradientCheck.randomFloats(N * OC, seed: 6)
            func run(_ threads: Int) -> [Float] {
                var out = [Float](repeating: 0, count: N * OC), sum = start
                matmulForward(&out, x, w, N, C, OC, threads: threads)
                matmulForward(&sum, x, w, N, C, OC, accumulate: true, threads: threads)
                return out + sum
            }
            let one = run(1)
            for threads in [2, 3] {
                let differing = zip(one, run(threads)).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(N)×\(C)×\(OC) at \(threads) threads: \(differing) elements differ")
            }
        }
    }

    /// A split product's every block, on the row grid and on the column grid, is above OpenBLAS's
    /// small-matrix bound (M·N·K ≤ 100³ takes other kernels on AVX-512), the short last block
    /// included; below it, the product is not split.
    func testNoSplitLeavesABlockOfSmallMatrixSize() {
        for (threads, align) in (1...4).flatMap({ t in [blockRowGrid, matmulColumnGrid].map { (t, $0) } }) {
            for rows in stride(from: 1, through: 700, by: 3) {
                for rowWork in [1_000, 8_000, 20_000, 25_000, 40_000, 65_536, 200_000] {
                    let parts = matmulParts(rows, threads, rowWork: rowWork, align: align)
                    XCTAssertTrue((1...max(1, threads)).contains(parts))
                    guard parts > 1 else { continue }
                    for p in 0..<parts {
                        let n = blockRange(p, of: parts, count: rows, align: align).count
                        XCTAssertTrue(n == 0 || n * rowWork > openBLASSmallProduct,
                                      "\(rows) rows × \(rowWork), \(parts) parts on a \(align) grid: a block of \(n) rows")
                    }
                }
            }
        }
    }
}
