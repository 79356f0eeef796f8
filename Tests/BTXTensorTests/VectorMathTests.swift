import BTXTensor
import XCTest

final class VectorMathTests: XCTestCase {
    func testVectorExpIsWithinFewUlpOfLibm() {
        var x: Float = -87
        while x < 88 {
            let v = VectorMath.exp(SIMD8<Float>((0..<8).map { x + Float($0) * 0.013 }))
            for i in 0..<8 {
                let ref = Foundation.exp(Double(x + Float(i) * 0.013))
                XCTAssertEqual(Double(v[i]), ref, accuracy: ref * 4e-7, "exp(\(x + Float(i) * 0.013))")
            }
            x += 0.37
        }
    }

    func testExpSaturatesInsteadOfProducingNaN() {
        let v = VectorMath.exp(SIMD8<Float>(-1000, -100, 100, 1000, 0, -0, .infinity, -.infinity))
        for i in 0..<8 { XCTAssertFalse(v[i].isNaN) }
        XCTAssertEqual(v[4], 1)
    }

    func testDotAndSumOfSquaresHandleTails() {
        let a: [Float] = (0..<19).map { Float($0) }, b: [Float] = (0..<19).map { Float(19 - $0) }
        XCTAssertEqual(VectorMath.dot(a, b, 19), zip(a, b).map(*).reduce(0, +))
        XCTAssertEqual(VectorMath.sumOfSquares(a, 19), Double(a.map { $0 * $0 }.reduce(0, +)))
        XCTAssertEqual(VectorMath.maximum(a, 19), 18)
    }
}
