import BTXTensor
import TestSupport
import XCTest

final class MatVecTests: XCTestCase {
    // Big enough (OC·C > 64K) that two threads split the rows, with a ragged last block.
    let C = 576, OC = 1_000

    func testMatchesADoublePrecisionReferenceAndAccumulates() {
        let x = GradientCheck.randomFloats(C, seed: 1), w = GradientCheck.randomFloats(OC * C, seed: 2)
        let start = GradientCheck.randomFloats(OC, seed: 3)
        var out = [Float](repeating: 0, count: OC), sum = start
        matvecForward(&out, x, w, C, OC, threads: 2)
        matvecForward(&sum, x, w, C, OC, accumulate: true, threads: 2)
        for o in 0..<OC {
            var ref = 0.0
            for c in 0..<C { ref += Double(x[c]) * Double(w[o * C + c]) }
            XCTAssertEqual(Double(out[o]), ref, accuracy: 1e-4)
            XCTAssertEqual(Double(sum[o]), ref + Double(start[o]), accuracy: 1e-4)
        }
    }

    func testResultIsBitwiseTheSameForEveryThreadCount() {
        let x = GradientCheck.randomFloats(C, seed: 4), w = GradientCheck.randomFloats(OC * C, seed: 5)
        var one = [Float](repeating: 0, count: OC), two = one, three = one
        matvecForward(&one, x, w, C, OC, threads: 1)
        matvecForward(&two, x, w, C, OC, threads: 2)
        matvecForward(&three, x, w, C, OC, threads: 3)
        XCTAssertEqual(one, two)
        XCTAssertEqual(one, three)
    }

    func testOneRowMatmulIsTheMatrixVectorProduct() {
        let x = GradientCheck.randomFloats(C, seed: 6), w = GradientCheck.randomFloats(OC * C, seed: 7)
        var viaMatmul = [Float](repeating: 0, count: OC), direct = viaMatmul
        matmulForward(&viaMatmul, x, w, 1, C, OC, threads: 2)
        matvecForward(&direct, x, w, C, OC, threads: 2)
        XCTAssertEqual(viaMatmul, direct)
    }
}
