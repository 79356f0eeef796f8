import BTXTensor
import TestSupport
import XCTest

final class SwiGLUTests: XCTestCase {
    let N = 3, I = 13

    /// Every build of the C kernel this CPU runs (I = 13: one 8-lane vector and a scalar tail per row).
    let kernels = KernelBuild.available

    func forward(_ g: [Float], _ u: [Float], kernel: KernelBuild = .best) -> [Float] {
        var out = [Float](repeating: 0, count: N * I)
        swigluForward(&out, g, u, N, I, threads: 2, kernel: kernel)
        return out
    }

    func testForwardIsSiluOfGateTimesUp() {
        let g = GradientCheck.randomFloats(N * I, seed: 10, std: 3), u = GradientCheck.randomFloats(N * I, seed: 11)
        for kernel in kernels {
            let out = forward(g, u, kernel: kernel)
            for i in 0..<out.count {
                let silu = Double(g[i]) / (1 + exp(-Double(g[i])))
                XCTAssertEqual(Double(out[i]), silu * Double(u[i]), accuracy: 1e-5)
            }
        }
    }

    func testBackwardMatchesFiniteDifferencesAlsoWhenOutputsAliasInputs() {
        let g = GradientCheck.randomFloats(N * I, seed: 10, std: 3), u = GradientCheck.randomFloats(N * I, seed: 11)
        let proj = GradientCheck.randomFloats(N * I, seed: 12)
        for kernel in kernels {
            var dg = [Float](repeating: 0, count: N * I), du = dg
            swigluBackward(&dg, &du, proj, g, u, N, I, kernel: kernel)
            let lossG = { (x: [Float]) in GradientCheck.project(self.forward(x, u, kernel: kernel), proj) }
            let lossU = { (x: [Float]) in GradientCheck.project(self.forward(g, x, kernel: kernel), proj) }
            XCTAssertLessThan(GradientCheck.relativeError(g, analytic: dg, eps: 1e-3, loss: lossG), 1e-2)
            XCTAssertLessThan(GradientCheck.relativeError(u, analytic: du, eps: 1e-3, loss: lossU), 1e-2)
            var ga = g, ua = u
            ga.withUnsafeMutableBufferPointer { gp in
                ua.withUnsafeMutableBufferPointer { up in
                    swigluBackward(gp.baseAddress!, up.baseAddress!, proj, gp.baseAddress!, up.baseAddress!, N, I,
                                   kernel: kernel)
                }
            }
            XCTAssertEqual(ga, dg)
            XCTAssertEqual(ua, du)
        }
    }

    /// Gate and up as the two halves of one `[N, 2I]` buffer (the fused product's output, row
    /// stride 2I) give the same values, in place, as separate tensors.
    func testFusedGateUpRowsMatchSeparateTensors() {
        let g = GradientCheck.randomFloats(N * I, seed: 10, std: 3), u = GradientCheck.randomFloats(N * I, seed: 11)
        let proj = GradientCheck.randomFloats(N * I, seed: 12)
        var fused = [Float](repeating: 0, count: N * 2 * I)
        for n in 0..<N {
            for i in 0..<I { fused[n * 2 * I + i] = g[n * I + i]; fused[n * 2 * I + I + i] = u[n * I + i] }
        }
        var out = [Float](repeating: 0, count: N * I)
        fused.withUnsafeMutableBufferPointer { f in
            let p = f.baseAddress!
            swigluForward(&out, p, p + I, N, I, stride: 2 * I, threads: 2)
            swigluBackward(p, p + I, proj, p, p + I, N, I, stride: 2 * I, threads: 2)
        }
        XCTAssertEqual(out, forward(g, u))
        var dg = [Float](repeating: 0, count: N * I), du = dg
        swigluBackward(&dg, &du, proj, g, u, N, I)
        for n in 0..<N {
            XCTAssertEqual(Array(fused[n * 2 * I..<n * 2 * I + I]), Array(dg[n * I..<(n + 1) * I]))
            XCTAssertEqual(Array(fused[n * 2 * I + I..<(n + 1) * 2 * I]), Array(du[n * I..<(n + 1) * I]))
        }
    }
}
