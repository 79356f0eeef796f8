import BTXTensor
import TestSupport
import XCTest

final class AttentionTests: XCTestCase {
    /// Sizes of one test case; H / KVH = 2 query heads per kv head (GQA).
    struct Dims {
        var B = 2, T = 5, H = 4, KVH = 2, D = 4
        var q: Int { B * T * H * D }
        var kv: Int { B * T * KVH * D }
    }

    let small = Dims()
    /// More than one 64-row query block, so the blocked causal window is exercised.
    let long = Dims(B: 1, T: 70, H: 2, KVH: 1, D: 4)

    func forward(_ d: Dims, _ q: [Float], _ k: [Float], _ v: [Float], Tq: Int? = nil, threads: Int = 2) -> [Float] {
        let tq = Tq ?? d.T
        var out = [Float](repeating: 0, count: d.B * tq * d.H * d.D)
        var att = [Float](repeating: 0, count: d.B * d.H * tq * d.T)
        attentionForward(&out, &att, q, k, v, d.B, tq, d.T, d.H, d.KVH, d.D, threads: threads)
        return out
    }

    /// Plain double-precision causal GQA attention.
    func reference(_ d: Dims, _ q: [Float], _ k: [Float], _ v: [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: d.q)
        for b in 0..<d.B {
            for h in 0..<d.H {
                let g = h / (d.H / d.KVH)
                for t in 0..<d.T {
                    let qi = ((b * d.T + t) * d.H + h) * d.D
                    var scores = (0...t).map { s -> Double in
                        let ki = ((b * d.T + s) * d.KVH + g) * d.D
                        return (0..<d.D).reduce(0.0) { $0 + Double(q[qi + $1]) * Double(k[ki + $1]) } / Double(d.D).squareRoot()
                    }
                    let m = scores.max()!
                    scores = scores.map { exp($0 - m) }
                    let z = scores.reduce(0, +)
                    for s in 0...t {
                        let vi = ((b * d.T + s) * d.KVH + g) * d.D
                        for i in 0..<d.D { out[qi + i] += scores[s] / z * Double(v[vi + i]) }
                    }
                }
            }
        }
        return out
    }

    func inputs(_ d: Dims) -> ([Float], [Float], [Float]) {
        (GradientCheck.randomFloats(d.q, seed: 20), GradientCheck.randomFloats(d.kv, seed: 21),
         GradientCheck.randomFloats(d.kv, seed: 22))
    }

    func testForwardMatchesDoublePrecisionReferenceWithGroupedHeads() {
        for d in [small, long] {
            let (q, k, v) = inputs(d)
            let out = forward(d, q, k, v), ref = reference(d, q, k, v)
            for i in 0..<out.count { XCTAssertEqual(Double(out[i]), ref[i], accuracy: 1e-5) }
        }
    }

    func testLastQueriesAgainstWholeCacheEqualLastRowsOfFullAttention() {
        for (d, tq) in [(small, 2), (long, 67)] {
            let (q, k, v) = inputs(d)
            let full = forward(d, q, k, v)
            // The last `tq` query rows of each batch, attending to all T keys.
            let rowSize = d.H * d.D
            var qTail = [Float]()
            for b in 0..<d.B {
                let lo: Int = (b * d.T + d.T - tq) * rowSize, hi: Int = (b + 1) * d.T * rowSize
                qTail += q[lo..<hi]
            }
            let tail = forward(d, qTail, k, v, Tq: tq)
            for b in 0..<d.B {
                let got = b * tq * rowSize, want = (b * d.T + d.T - tq) * rowSize
                for i in 0..<tq * rowSize { XCTAssertEqual(tail[got + i], full[want + i], accuracy: 1e-6) }
            }
        }
    }

    func testBackwardMatchesFiniteDifferencesForQueriesKeysAndValues() {
        for d in [small, long] {
            let (q, k, v) = inputs(d)
            let proj = GradientCheck.randomFloats(d.q, seed: 23)
            var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
            var att = [Float](repeating: 0, count: d.B * d.H * d.T * d.T), datt = att
            attentionBackward(&dq, &dk, &dv, &att, &datt, proj, q, k, v, d.B, d.T, d.T, d.H, d.KVH, d.D, threads: 2)
            let loss = { (q: [Float], k: [Float], v: [Float]) in GradientCheck.project(self.forward(d, q, k, v), proj) }
            XCTAssertLessThan(GradientCheck.relativeError(q, analytic: dq, eps: 1e-3) { loss($0, k, v) }, 1e-2)
            XCTAssertLessThan(GradientCheck.relativeError(k, analytic: dk, eps: 1e-3) { loss(q, $0, v) }, 1e-2)
            XCTAssertLessThan(GradientCheck.relativeError(v, analytic: dv, eps: 1e-3) { loss(q, k, $0) }, 1e-2)
        }
    }

    func testResultsAreBitwiseIdenticalForOneAndTwoThreads() {
        let (q, k, v) = inputs(small)
        XCTAssertEqual(forward(small, q, k, v, threads: 1), forward(small, q, k, v, threads: 2))
    }

    /// q, k, v as views into one fused `[q | k | v]` row buffer (the model's layout) give the same
    /// output and gradients, bit for bit, as separate dense tensors; the gaps stay untouched.
    func testFusedRowViewsMatchSeparateTensors() {
        let d = long, qw = d.H * d.D, kw = d.KVH * d.D, S = qw + 2 * kw, rows = d.B * d.T
        let (q, k, v) = inputs(d)
        var fused = [Float](repeating: 0, count: rows * S)
        for r in 0..<rows {
            for i in 0..<qw { fused[r * S + i] = q[r * qw + i] }
            for i in 0..<kw { fused[r * S + qw + i] = k[r * kw + i]; fused[r * S + qw + kw + i] = v[r * kw + i] }
        }
        var out = [Float](repeating: 0, count: rows * qw), att = [Float](repeating: 0, count: d.B * d.H * d.T * d.T)
        var datt = att
        fused.withUnsafeBufferPointer { f in
            let p = f.baseAddress!
            attentionForward(&out, &att, p, p + qw, p + qw + kw, d.B, d.T, d.T, d.H, d.KVH, d.D, qStride: S, kvStride: S,
                             threads: 2)
        }
        XCTAssertEqual(out, forward(d, q, k, v))

        let proj = GradientCheck.randomFloats(d.q, seed: 23)
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
        attentionBackward(&dq, &dk, &dv, &att, &datt, proj, q, k, v, d.B, d.T, d.T, d.H, d.KVH, d.D, threads: 2)
        var dfused = [Float](repeating: 7, count: rows * S)  // 7: a value no gradient writes
        fused.withUnsafeBufferPointer { f in
            dfused.withUnsafeMutableBufferPointer { g in
                let p = f.baseAddress!, dp = g.baseAddress!
                attentionBackward(dp, dp + qw, dp + qw + kw, &att, &datt, proj, p, p + qw, p + qw + kw,
                                  d.B, d.T, d.T, d.H, d.KVH, d.D, qStride: S, kvStride: S, threads: 2)
            }
        }
        for r in 0..<rows {
            XCTAssertEqual(Array(dfused[r * S..<r * S + qw]), Array(dq[r * qw..<(r + 1) * qw]))
            XCTAssertEqual(Array(dfused[r * S + qw..<r * S + qw + kw]), Array(dk[r * kw..<(r + 1) * kw]))
            XCTAssertEqual(Array(dfused[r * S + qw + kw..<(r + 1) * S]), Array(dv[r * kw..<(r + 1) * kw]))
        }
    }
}
