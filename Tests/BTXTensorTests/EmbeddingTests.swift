import BTXTensor
import TestSupport
import XCTest

final class EmbeddingTests: XCTestCase {
    func testForwardCopiesRowsAndBackwardSumsRepeatedTokens() {
        let V = 5, C = 3
        let table = GradientCheck.randomFloats(V * C, seed: 40)
        let tokens: [Int32] = [4, 1, 4]
        var out = [Float](repeating: 0, count: tokens.count * C)
        embeddingForward(&out, tokens, table, tokens.count, C)
        XCTAssertEqual(Array(out[0..<C]), Array(table[4 * C..<5 * C]))
        XCTAssertEqual(Array(out[C..<2 * C]), Array(table[C..<2 * C]))
        let proj = GradientCheck.randomFloats(out.count, seed: 41)
        var dtable = [Float](repeating: 0, count: V * C)
        embeddingBackward(&dtable, proj, tokens, tokens.count, C)
        let err = GradientCheck.relativeError(table, analytic: dtable) { t in
            var o = [Float](repeating: 0, count: tokens.count * C)
            embeddingForward(&o, tokens, t, tokens.count, C)
            return GradientCheck.project(o, proj)
        }
        XCTAssertLessThan(err, 1e-3)
    }
}
