import BTXTensor
import TestSupport
import XCTest

final class RMSNormTests: XCTestCase {
    let N = 3, C = 11  // C not a multiple of 8: exercises the scalar tails

    /// Every build of the C row kernels this CPU runs.
    let kernels = KernelBuild.available

    func forward(_ x: [Float], _ w: [Float], kernel: KernelBuild = .best) -> [Float] {
        var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
        rmsnormForward(&out, &rstd, x, w, N, C, eps: 1e-5, kernel: kernel)
        return out
    }

    func testForwardNormalisesRootMeanSquareToWeight() {
        let x = GradientCheck.randomFloats(N * C, seed: 4)
        for kernel in kernels {
            let out = forward(x, [Float](repeating: 1, count: C), kernel: kernel)
            for n in 0..<N {
                let ms = (0..<C).map { out[n * C + $0] * out[n * C + $0] }.reduce(0, +) / Float(C)
                XCTAssertEqual(ms, 1, accuracy: 1e-3)
            }
        }
    }

    func testBackwardMatchesFiniteDifferences() {
        let x = GradientCheck.randomFloats(N * C, seed: 4), w = GradientCheck.randomFloats(C, seed: 5)
        let proj = GradientCheck.randomFloats(N * C, seed: 6)
        for kernel in kernels {
            var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
            rmsnormForward(&out, &rstd, x, w, N, C, eps: 1e-5, kernel: kernel)
            var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C)
            rmsnormBackward(&dx, &dw, proj, x, w, rstd, N, C, threads: 2, kernel: kernel)
            let lossX = { (v: [Float]) in GradientCheck.project(self.forward(v, w, kernel: kernel), proj) }
            let lossW = { (v: [Float]) in GradientCheck.project(self.forward(x, v, kernel: kernel), proj) }
            XCTAssertLessThan(GradientCheck.relativeError(x, analytic: dx, eps: 1e-3, loss: lossX), 1e-2)
            XCTAssertLessThan(GradientCheck.relativeError(w, analytic: dw, eps: 1e-3, loss: lossW), 1e-2)
        }
    }

    /// Wide enough that the weight gradient splits into column blocks: two threads give the same
    /// bits as one, and both match finite differences.
    func testWeightGradientSplitOverColumnsIsBitwiseTheSameAsOneThread() {
        let N = 5, C = 203
        let x = GradientCheck.randomFloats(N * C, seed: 4), w = GradientCheck.randomFloats(C, seed: 5)
        let proj = GradientCheck.randomFloats(N * C, seed: 6)
        var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
        rmsnormForward(&out, &rstd, x, w, N, C, eps: 1e-5)
        func weightGradient(_ threads: Int) -> [Float] {
            var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0.5, count: C)
            rmsnormBackward(&dx, &dw, proj, x, w, rstd, N, C, threads: threads)
            return dw
        }
        let one = weightGradient(1), two = weightGradient(2)
        XCTAssertEqual(one, two)
        let loss = { (w: [Float]) -> Double in
            var y = [Float](repeating: 0, count: N * C), r = [Float](repeating: 0, count: N)
            rmsnormForward(&y, &r, x, w, N, C, eps: 1e-5)
            return GradientCheck.project(y, proj)
        }
        XCTAssertLessThan(GradientCheck.relativeError(w, analytic: two.map { $0 - 0.5 }, eps: 1e-3, loss: loss), 1e-2)
    }
}
