import BTXTensor
import Foundation
import TestSupport
import XCTest

final class AttentionTests: XCTestCase {
    /// Sizes of one test case; query row `i` sits at position `Tk − Tq + i`.
    struct Dims {
        var B = 2, T = 5, H = 4, KVH = 2, D = 4
        var Tq: Int? = nil
        var tq: Int { Tq ?? T }
        var q: Int { B * tq * H * D }
        var kv: Int { B * T * KVH * D }
    }

    let small = Dims()
    /// More than one 32-row query block and one 64-key block, so the causal blocking is exercised.
    let long = Dims(B: 1, T: 70, H: 2, KVH: 1, D: 4)
    /// The head sizes the bench models use, GQA 2:1 and SmolLM2's 9/3, T not a multiple of a block.
    let d32 = Dims(B: 2, T: 97, H: 4, KVH: 2, D: 32)
    let d64 = Dims(B: 1, T: 130, H: 9, KVH: 3, D: 64)
    /// An odd head size (columns past the last whole vector run in scalar code).
    let odd = Dims(B: 1, T: 67, H: 3, KVH: 1, D: 20)
    var all: [Dims] { [small, long, d32, d64, odd] }
    let kernels = KernelBuild.available

    func forward(_ d: Dims, _ q: [Float], _ k: [Float], _ v: [Float], threads: Int = 2,
                 kernel: KernelBuild = .best) -> (out: [Float], lse: [Float]) {
        var out = [Float](repeating: 0, count: d.q), lse = [Float](repeating: 0, count: d.B * d.H * d.tq)
        let scratch = AttentionScratch(headSize: d.D, threads: threads)
        attentionForward(&out, &lse, q, k, v, d.B, d.tq, d.T, d.H, d.KVH, d.D, scratch: scratch, threads: threads,
                         kernel: kernel)
        return (out, lse)
    }

    func backward(_ d: Dims, _ dout: [Float], _ q: [Float], _ k: [Float], _ v: [Float], threads: Int = 2,
                  kernel: KernelBuild = .best) -> (dq: [Float], dk: [Float], dv: [Float]) {
        let (out, lse) = forward(d, q, k, v, threads: threads, kernel: kernel)
        var dq = [Float](repeating: 9, count: d.q), dk = [Float](repeating: 9, count: d.kv), dv = dk  // 9: overwritten
        attentionBackward(&dq, &dk, &dv, dout, out, lse, q, k, v, d.B, d.T, d.H, d.KVH, d.D,
                          scratch: AttentionScratch(headSize: d.D, threads: threads), threads: threads, kernel: kernel)
        return (dq, dk, dv)
    }

    func inputs(_ d: Dims) -> ([Float], [Float], [Float]) {
        (GradientCheck.randomFloats(d.q, seed: 20), GradientCheck.randomFloats(d.kv, seed: 21),
         GradientCheck.randomFloats(d.kv, seed: 22))
    }

    func assertClose(_ got: [Float], _ want: [Double], tolerance: Double, _ what: String) {
        let scale = max(1e-9, want.map(abs).max() ?? 0)
        let worst = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0
        XCTAssertLessThan(worst / scale, tolerance, what)
    }

    func testForwardMatchesDoublePrecisionReferenceWithGroupedHeads() {
        for d in all {
            let (q, k, v) = inputs(d)
            let ref = AttentionReference(d, q, k, v)
            for kernel in kernels {
                let (out, lse) = forward(d, q, k, v, kernel: kernel)
                assertClose(out, ref.out, tolerance: 2e-6, "out, D \(d.D) T \(d.T) \(kernel)")
                assertClose(lse, ref.lse, tolerance: 2e-6, "lse, D \(d.D) T \(d.T) \(kernel)")
            }
        }
    }

    func testBackwardMatchesDoublePrecisionReference() {
        for d in all {
            let (q, k, v) = inputs(d)
            let dout = GradientCheck.randomFloats(d.q, seed: 23)
            let ref = AttentionReference(d, q, k, v), (rq, rk, rv) = ref.backward(dout)
            for kernel in kernels {
                let (dq, dk, dv) = backward(d, dout, q, k, v, kernel: kernel)
                assertClose(dq, rq, tolerance: 5e-6, "dq, D \(d.D) T \(d.T) \(kernel)")
                assertClose(dk, rk, tolerance: 5e-6, "dk, D \(d.D) T \(d.T) \(kernel)")
                assertClose(dv, rv, tolerance: 5e-6, "dv, D \(d.D) T \(d.T) \(kernel)")
            }
        }
    }

    func testBackwardMatchesFiniteDifferencesForQueriesKeysAndValues() {
        for d in [small, long, Dims(B: 1, T: 70, H: 2, KVH: 1, D: 32)] {
            let (q, k, v) = inputs(d)
            let proj = GradientCheck.randomFloats(d.q, seed: 23)
            let (dq, dk, dv) = backward(d, proj, q, k, v)
            let loss = { (q: [Float], k: [Float], v: [Float]) in GradientCheck.project(self.forward(d, q, k, v).out, proj) }
            XCTAssertLessThan(GradientCheck.relativeError(q, analytic: dq, eps: 1e-3) { loss($0, k, v) }, 1e-2)
            XCTAssertLessThan(GradientCheck.relativeError(k, analytic: dk, eps: 1e-3) { loss(q, $0, v) }, 1e-2)
            XCTAssertLessThan(GradientCheck.relativeError(v, analytic: dv, eps: 1e-3) { loss(q, k, $0) }, 1e-2)
        }
    }

    /// Cached generation: a few new queries against the whole cache give the last rows of full attention.
    func testLastQueriesAgainstWholeCacheEqualLastRowsOfFullAttention() {
        for (d, tq) in [(small, 2), (long, 67), (d64, 1), (d64, 3), (d32, 40)] {
            let (q, k, v) = inputs(d)
            let full = forward(d, q, k, v).out
            let rowSize = d.H * d.D
            var qTail = [Float]()
            for b in 0..<d.B {
                let lo: Int = (b * d.T + d.T - tq) * rowSize, hi: Int = (b + 1) * d.T * rowSize
                qTail += q[lo..<hi]
            }
            var cached = d
            cached.Tq = tq
            let tail = forward(cached, qTail, k, v).out
            for b in 0..<d.B {
                let got = b * tq * rowSize, want = (b * d.T + d.T - tq) * rowSize
                for i in 0..<tq * rowSize { XCTAssertEqual(tail[got + i], full[want + i], accuracy: 1e-6) }
            }
        }
    }

    func testResultsAreBitwiseIdenticalForOneAndTwoThreads() {
        for d in [small, d32] {
            let (q, k, v) = inputs(d)
            let dout = GradientCheck.randomFloats(d.q, seed: 23)
            XCTAssertEqual(forward(d, q, k, v, threads: 1).out, forward(d, q, k, v, threads: 2).out)
            let one = backward(d, dout, q, k, v, threads: 1), two = backward(d, dout, q, k, v, threads: 2)
            XCTAssertEqual(one.dq, two.dq)
            XCTAssertEqual(one.dk, two.dk)
            XCTAssertEqual(one.dv, two.dv)
        }
    }

    /// The AVX-512 build (16 lanes) computes every output lane by lane in the AVX2 build's order, so
    /// their bits agree: forward, backward, and cached queries, at every head size the tests use, one
    /// with columns past the last 16-lane vector (D 40) and query blocks whose padding differs.
    func testAVX512BuildGivesTheAVX2BuildsBits() throws {
        try XCTSkipUnless(KernelBuild.best == .avx512, "this CPU has no AVX-512: there is no second build to compare")
        var cached = d64
        cached.Tq = 3
        for d in all + [Dims(B: 1, T: 45, H: 2, KVH: 2, D: 40), cached] {
            let (q, k, v) = inputs(d)
            let dout = GradientCheck.randomFloats(d.q, seed: 23)
            let wide = forward(d, q, k, v, kernel: .avx512), narrow = forward(d, q, k, v, kernel: .avx2)
            XCTAssertEqual(wide.out, narrow.out, "out, D \(d.D) T \(d.T) Tq \(d.tq)")
            XCTAssertEqual(wide.lse, narrow.lse, "lse, D \(d.D) T \(d.T) Tq \(d.tq)")
            guard d.tq == d.T else { continue }
            let wideGrad = backward(d, dout, q, k, v, kernel: .avx512), narrowGrad = backward(d, dout, q, k, v, kernel: .avx2)
            XCTAssertEqual(wideGrad.dq, narrowGrad.dq, "dq, D \(d.D) T \(d.T)")
            XCTAssertEqual(wideGrad.dk, narrowGrad.dk, "dk, D \(d.D) T \(d.T)")
            XCTAssertEqual(wideGrad.dv, narrowGrad.dv, "dv, D \(d.D) T \(d.T)")
        }
    }

    /// q, k, v as views into one fused `[q | k | v]` row buffer (the model's layout) give the same
    /// output and gradients, bit for bit, as separate dense tensors; the gaps stay untouched.
    func testFusedRowViewsMatchSeparateTensors() {
        let d = d32, qw = d.H * d.D, kw = d.KVH * d.D, S = qw + 2 * kw, rows = d.B * d.T
        let (q, k, v) = inputs(d)
        var fused = [Float](repeating: 0, count: rows * S)
        for r in 0..<rows {
            for i in 0..<qw { fused[r * S + i] = q[r * qw + i] }
            for i in 0..<kw { fused[r * S + qw + i] = k[r * kw + i]; fused[r * S + qw + kw + i] = v[r * kw + i] }
        }
        let scratch = AttentionScratch(headSize: d.D, threads: 2)
        var out = [Float](repeating: 0, count: rows * qw), lse = [Float](repeating: 0, count: d.B * d.H * d.T)
        fused.withUnsafeBufferPointer { f in
            let p = f.baseAddress!
            attentionForward(&out, &lse, p, p + qw, p + qw + kw, d.B, d.T, d.T, d.H, d.KVH, d.D, qStride: S, kvStride: S,
                             scratch: scratch, threads: 2)
        }
        XCTAssertEqual(out, forward(d, q, k, v).out)

        let proj = GradientCheck.randomFloats(d.q, seed: 23)
        let (dq, dk, dv) = backward(d, proj, q, k, v)
        var dfused = [Float](repeating: 7, count: rows * S)  // 7: a value no gradient writes
        fused.withUnsafeBufferPointer { f in
            dfused.withUnsafeMutableBufferPointer { g in
                let p = f.baseAddress!, dp = g.baseAddress!
                attentionBackward(dp, dp + qw, dp + qw + kw, proj, out, lse, p, p + qw, p + qw + kw,
                                  d.B, d.T, d.H, d.KVH, d.D, qStride: S, kvStride: S, scratch: scratch, threads: 2)
            }
        }
        for r in 0..<rows {
            XCTAssertEqual(Array(dfused[r * S..<r * S + qw]), Array(dq[r * qw..<(r + 1) * qw]))
            XCTAssertEqual(Array(dfused[r * S + qw..<r * S + qw + kw]), Array(dk[r * kw..<(r + 1) * kw]))
            XCTAssertEqual(Array(dfused[r * S + qw + kw..<(r + 1) * S]), Array(dv[r * kw..<(r + 1) * kw]))
        }
    }
}

/// Plain double-precision causal GQA attention and its analytic backward (the test's reference).
struct AttentionReference {
    let d: AttentionTests.Dims
    let q, k, v: [Float]
    /// Output `[B, Tq, H, D]`, log-sum-exp `[B, H, Tq]` and probabilities `[B, H, Tq, T]`.
    private(set) var out: [Double], lse: [Double], p: [Double]

    init(_ d: AttentionTests.Dims, _ q: [Float], _ k: [Float], _ v: [Float]) {
        (self.d, self.q, self.k, self.v) = (d, q, k, v)
        out = [Double](repeating: 0, count: d.q)
        lse = [Double](repeating: 0, count: d.B * d.H * d.tq)
        p = [Double](repeating: 0, count: d.B * d.H * d.tq * d.T)
        let scale = 1 / Double(d.D).squareRoot()
        for b in 0..<d.B {
            for h in 0..<d.H {
                for i in 0..<d.tq {
                    let visible = d.T - d.tq + i + 1, row = ((b * d.H + h) * d.tq + i) * d.T
                    let s = (0..<visible).map { j in scale * dot(qIndex(b, i, h), kIndex(b, j, h)) }
                    let m = s.max()!, z = s.reduce(0) { $0 + exp($1 - m) }
                    lse[(b * d.H + h) * d.tq + i] = m + log(z)
                    for j in 0..<visible { p[row + j] = exp(s[j] - m) / z }
                    for e in 0..<d.D {
                        out[qIndex(b, i, h) + e] = (0..<visible).reduce(0) { $0 + p[row + $1] * Double(v[kIndex(b, $1, h) + e]) }
                    }
                }
            }
        }
    }

    func qIndex(_ b: Int, _ i: Int, _ h: Int) -> Int { ((b * d.tq + i) * d.H + h) * d.D }
    func kIndex(_ b: Int, _ j: Int, _ h: Int) -> Int { ((b * d.T + j) * d.KVH + h / (d.H / d.KVH)) * d.D }
    func dot(_ qi: Int, _ ki: Int) -> Double { (0..<d.D).reduce(0) { $0 + Double(q[qi + $1]) * Double(k[ki + $1]) } }

    /// dq, dk, dv for upstream gradient `dout` (training: Tq == T).
    func backward(_ dout: [Float]) -> ([Double], [Double], [Double]) {
        var dq = [Double](repeating: 0, count: d.q), dk = [Double](repeating: 0, count: d.kv), dv = dk
        let scale = 1 / Double(d.D).squareRoot()
        for b in 0..<d.B {
            for h in 0..<d.H {
                for i in 0..<d.tq {
                    let row = ((b * d.H + h) * d.tq + i) * d.T, qi = qIndex(b, i, h)
                    let dp = (0..<d.T).map { j in (0..<d.D).reduce(0.0) { $0 + Double(dout[qi + $1]) * Double(v[kIndex(b, j, h) + $1]) } }
                    let delta = (0..<d.T).reduce(0.0) { $0 + p[row + $1] * dp[$1] }
                    for j in 0..<d.T where p[row + j] != 0 {
                        let kj = kIndex(b, j, h), ds = p[row + j] * (dp[j] - delta) * scale
                        for e in 0..<d.D {
                            dv[kj + e] += p[row + j] * Double(dout[qi + e])
                            dq[qi + e] += ds * Double(k[kj + e])
                            dk[kj + e] += ds * Double(q[qi + e])
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
    }
}
