import BTXTensor
import TestSupport
import XCTest

final class RoPETests: XCTestCase {
    let B = 2, T = 3, NH = 2, D = 4

    func testPositionZeroIsIdentityAndRotationPreservesNorm() {
        let table = RoPETable(headSize: D, positions: 8, theta: 10_000)
        let x = GradientCheck.randomFloats(B * T * NH * D, seed: 7)
        var y = x
        ropeForward(&y, table, B, T, NH, D)
        for i in 0..<NH * D { XCTAssertEqual(y[i], x[i]) }  // b = 0, t = 0
        for row in 0..<B * T * NH {
            let a = (0..<D).map { x[row * D + $0] * x[row * D + $0] }.reduce(0, +)
            let b = (0..<D).map { y[row * D + $0] * y[row * D + $0] }.reduce(0, +)
            XCTAssertEqual(a, b, accuracy: 1e-4)
        }
    }

    func testRotateHalfConventionMatchesHuggingFace() {
        // HF: q' = q·cos(emb) + rotate_half(q)·sin(emb), emb = cat(freqs, freqs), rotate_half = cat(−x2, x1).
        let table = RoPETable(headSize: 4, positions: 4, theta: 100)
        var x: [Float] = [1, 2, 3, 4]
        ropeForward(&x, table, 1, 1, 1, 4, start: 3)
        let f0 = 3.0, f1 = 3.0 / 10.0  // 100^(−0/4), 100^(−2/4)
        let expected = [1 * cos(f0) - 3 * sin(f0), 2 * cos(f1) - 4 * sin(f1),
                        3 * cos(f0) + 1 * sin(f0), 4 * cos(f1) + 2 * sin(f1)]
        for i in 0..<4 { XCTAssertEqual(Double(x[i]), expected[i], accuracy: 1e-5) }
    }

    func testBackwardMatchesFiniteDifferences() {
        let table = RoPETable(headSize: D, positions: 8, theta: 10_000)
        let x = GradientCheck.randomFloats(B * T * NH * D, seed: 8)
        let proj = GradientCheck.randomFloats(x.count, seed: 9)
        var dx = proj
        ropeBackward(&dx, table, B, T, NH, D, start: 2)
        let err = GradientCheck.relativeError(x, analytic: dx) { x in
            var y = x
            ropeForward(&y, table, self.B, self.T, self.NH, self.D, start: 2)
            return GradientCheck.project(y, proj)
        }
        XCTAssertLessThan(err, 1e-3)
    }

    /// Head size 36 (half 18: two 8-wide vector steps and a scalar tail), strided rows, two
    /// threads: matches the rotation computed element by element in double precision.
    func testVectorisedStridedThreadedRotationMatchesElementwiseReference() {
        let B = 2, T = 5, NH = 3, D = 36, half = D / 2, stride = NH * D + 7, start = 1
        let table = RoPETable(headSize: D, positions: 8, theta: 10_000)
        let x = GradientCheck.randomFloats(B * T * stride, seed: 10)
        var y = x
        ropeForward(&y, table, B, T, NH, D, start: start, stride: stride, threads: 2)
        for r in 0..<B * T {
            let p = start + r % T
            for h in 0..<NH {
                let lo = r * stride + h * D
                for i in 0..<half {
                    let c = Double(table.cos[p * half + i]), s = Double(table.sin[p * half + i])
                    XCTAssertEqual(Double(y[lo + i]), Double(x[lo + i]) * c - Double(x[lo + half + i]) * s, accuracy: 1e-5)
                    XCTAssertEqual(Double(y[lo + half + i]), Double(x[lo + half + i]) * c + Double(x[lo + i]) * s, accuracy: 1e-5)
                }
            }
            for gap in r * stride + NH * D..<(r + 1) * stride { XCTAssertEqual(y[gap], x[gap]) }  // untouched
        }
    }
}
