import BTXTensor
import TestSupport
import XCTest

final class SwiGLUTests: XCTestCase {
    let N = 3, I = 13

    func forward(_ g: [Float], _ u: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: N * I)
        swigluForward(&out, g, u, N, I, threads: 2)
        return out
    }

    func testForwardIsSiluOfGateTimesUp() {
        let g = GradientCheck.randomFloats(N * I, seed: 10, std: 3), u = GradientCheck.randomFloats(N * I, seed: 11)
        let out = forward(g, u)
        for i in 0..<out.count {
            let silu = Double(g[i]) / (1 + exp(-Double(g[i])))
            XCTAssertEqual(Double(out[i]), silu * Double(u[i]), accuracy: 1e-5)
        }
    }

    func testBackwardMatchesFiniteDifferencesAlsoWhenOutputsAliasInputs() {
        let g = GradientCheck.randomFloats(N * I, seed: 10, std: 3), u = GradientCheck.randomFloats(N * I, seed: 11)
        let proj = GradientCheck.randomFloats(N * I, seed: 12)
        var dg = [Float](repeating: 0, count: N * I), du = dg
        swigluBackward(&dg, &du, proj, g, u, N, I)
        XCTAssertLessThan(GradientCheck.relativeError(g, analytic: dg, eps: 1e-3) { GradientCheck.project(self.forward($0, u), proj) }, 1e-2)
        XCTAssertLessThan(GradientCheck.relativeError(u, analytic: du, eps: 1e-3) { GradientCheck.project(self.forward(g, $0), proj) }, 1e-2)
        var ga = g, ua = u
        ga.withUnsafeMutableBufferPointer { gp in
            ua.withUnsafeMutableBufferPointer { up in
                swigluBackward(gp.baseAddress!, up.baseAddress!, proj, gp.baseAddress!, up.baseAddress!, N, I)
            }
        }
        XCTAssertEqual(ga, dg)
        XCTAssertEqual(ua, du)
    }
}
