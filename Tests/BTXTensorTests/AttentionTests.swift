import BTXTensor
import TestSupport
import XCTest

final class AttentionTests: XCTestCase {
    let B = 2, T = 5, H = 4, KVH = 2, D = 4  // GQA: two query heads per kv head

    func forward(_ q: [Float], _ k: [Float], _ v: [Float], Tq: Int? = nil) -> [Float] {
        let tq = Tq ?? T
        var out = [Float](repeating: 0, count: B * tq * H * D)
        var att = [Float](repeating: 0, count: B * H * tq * T)
        attentionForward(&out, &att, q, k, v, B, tq, T, H, KVH, D, threads: 2)
        return out
    }

    /// Plain double-precision causal GQA attention.
    func reference(_ q: [Float], _ k: [Float], _ v: [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: B * T * H * D)
        for b in 0..<B {
            for h in 0..<H {
                let g = h / (H / KVH)
                for t in 0..<T {
                    var scores = (0...t).map { s -> Double in
                        var dot = 0.0
                        for d in 0..<D { dot += Double(q[((b * T + t) * H + h) * D + d]) * Double(k[((b * T + s) * KVH + g) * D + d]) }
                        return dot / Double(D).squareRoot()
                    }
                    let m = scores.max()!
                    scores = scores.map { exp($0 - m) }
                    let z = scores.reduce(0, +)
                    for s in 0...t {
                        for d in 0..<D {
                            out[((b * T + t) * H + h) * D + d] += scores[s] / z * Double(v[((b * T + s) * KVH + g) * D + d])
                        }
                    }
                }
            }
        }
        return out
    }

    var inputs: ([Float], [Float], [Float]) {
        (GradientCheck.randomFloats(B * T * H * D, seed: 20), GradientCheck.randomFloats(B * T * KVH * D, seed: 21),
         GradientCheck.randomFloats(B * T * KVH * D, seed: 22))
    }

    func testForwardMatchesDoublePrecisionReferenceWithGroupedHeads() {
        let (q, k, v) = inputs
        let out = forward(q, k, v), ref = reference(q, k, v)
        for i in 0..<out.count { XCTAssertEqual(Double(out[i]), ref[i], accuracy: 1e-5) }
    }

    func testLastQueriesAgainstWholeCacheEqualLastRowsOfFullAttention() {
        let (q, k, v) = inputs
        let full = forward(q, k, v)
        let tq = 2
        // The last `tq` query rows of each batch, attending to all T keys.
        let rowSize = H * D
        var qTail = [Float]()
        for b in 0..<B {
            let lo: Int = (b * T + T - tq) * rowSize, hi: Int = (b + 1) * T * rowSize
            qTail += q[lo..<hi]
        }
        let tail = forward(qTail, k, v, Tq: tq)
        for b in 0..<B {
            let got = b * tq * rowSize, want = (b * T + T - tq) * rowSize
            for i in 0..<tq * rowSize { XCTAssertEqual(tail[got + i], full[want + i], accuracy: 1e-6) }
        }
    }

    func testBackwardMatchesFiniteDifferencesForQueriesKeysAndValues() {
        let (q, k, v) = inputs
        let proj = GradientCheck.randomFloats(B * T * H * D, seed: 23)
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
        var att = [Float](repeating: 0, count: B * H * T * T), datt = att
        attentionBackward(&dq, &dk, &dv, &att, &datt, proj, q, k, v, B, T, T, H, KVH, D, threads: 2)
        let loss = { (q: [Float], k: [Float], v: [Float]) in GradientCheck.project(self.forward(q, k, v), proj) }
        XCTAssertLessThan(GradientCheck.relativeError(q, analytic: dq, eps: 1e-3) { loss($0, k, v) }, 1e-2)
        XCTAssertLessThan(GradientCheck.relativeError(k, analytic: dk, eps: 1e-3) { loss(q, $0, v) }, 1e-2)
        XCTAssertLessThan(GradientCheck.relativeError(v, analytic: dv, eps: 1e-3) { loss(q, k, $0) }, 1e-2)
    }

    func testResultsAreBitwiseIdenticalForOneAndTwoThreads() {
        let (q, k, v) = inputs
        var o1 = [Float](repeating: 0, count: q.count), o2 = o1
        var att = [Float](repeating: 0, count: B * H * T * T)
        attentionForward(&o1, &att, q, k, v, B, T, T, H, KVH, D, threads: 1)
        attentionForward(&o2, &att, q, k, v, B, T, T, H, KVH, D, threads: 2)
        XCTAssertEqual(o1, o2)
    }
}
