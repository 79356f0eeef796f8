import BTXTensor
import TestSupport
import XCTest

final class RoutingTests: XCTestCase {
    /// Owns the buffers of one routing call.
    final class Routed {
        let experts: [Int32], gates: [Float], probs: [Float], sampled: [Float]
        init(_ logits: [Float], noise: [Float]? = nil, kind: RoutingKind, temperature: Float = 0.7, N: Int, E: Int, K: Int) {
            var ex = [Int32](repeating: 0, count: N * K), g = [Float](repeating: 0, count: N * K)
            var p = [Float](repeating: 0, count: N * E), y = [Float](repeating: 0, count: N * E)
            ex.withUnsafeMutableBufferPointer { ex in g.withUnsafeMutableBufferPointer { g in
                p.withUnsafeMutableBufferPointer { p in y.withUnsafeMutableBufferPointer { y in
                    let r = RoutingBuffers(experts: ex.baseAddress!, gates: g.baseAddress!, probs: p.baseAddress!,
                                           sampled: y.baseAddress!)
                    if let noise {
                        noise.withUnsafeBufferPointer {
                            routeForward(r, logits, noise: $0.baseAddress!, kind: kind, temperature: temperature, N, E, K)
                        }
                    } else {
                        routeForward(r, logits, noise: nil, kind: kind, temperature: temperature, N, E, K)
                    }
                } }
            } }
            (experts, gates, probs, sampled) = (ex, g, p, y)
        }
    }

    func testTopKGatesAreSoftmaxOverTheSelectedLogits() {
        let r = Routed([0.5, 2, -1, 1], kind: .topK, N: 1, E: 4, K: 2)
        XCTAssertEqual(r.experts, [1, 3])
        let e = exp(Float(1))  // gates ∝ exp(2), exp(1)
        XCTAssertEqual(r.gates[0], e / (e + 1), accuracy: 1e-6)
        XCTAssertEqual(r.gates[1], 1 / (e + 1), accuracy: 1e-6)
        XCTAssertEqual(r.probs.reduce(0, +), 1, accuracy: 1e-6)
    }

    func testTiesGoToTheLowerExpertIndex() {
        let r = Routed([1, 3, 3, 1, 3], kind: .topK, N: 1, E: 5, K: 2)
        XCTAssertEqual(r.experts, [1, 2])
        XCTAssertEqual(Routed([0, 0, 0], kind: .switchTop1, N: 1, E: 3, K: 1).experts, [0])
    }

    func testSwitchGateIsTheFullSoftmaxProbabilityAndSoftUsesEveryExpert() {
        let s = Routed([0.1, 0.4, 0.2], kind: .switchTop1, N: 1, E: 3, K: 1)
        XCTAssertEqual(s.experts, [1])
        XCTAssertEqual(s.gates[0], s.probs[1])
        let soft = Routed([0.1, 0.4, 0.2], kind: .soft, N: 1, E: 3, K: 3)
        XCTAssertEqual(soft.experts, [0, 1, 2])
        XCTAssertEqual(soft.gates, soft.probs)
    }

    func testSampleTop1PicksTheArgmaxOfTheNoisyLogits() {
        let r = Routed([2, 0, 0], noise: [0, 3, 0], kind: .sampleTop1, temperature: 0.5, N: 1, E: 3, K: 1)
        XCTAssertEqual(r.experts, [1])
        XCTAssertEqual(r.gates[0], r.sampled[1])
        XCTAssertEqual(Routed([2, 0, 0], kind: .sampleTop1, N: 1, E: 3, K: 1).experts, [0], "noise-free at inference")
    }

    func testLoadBalancingLossOnAHandComputedExample() {
        // Two tokens, two experts, top-1 Switch. Token 0: logits (ln 3, 0) → p = (3/4, 1/4), expert 0,
        // gate 3/4. Token 1: logits (0, ln 3) → p = (1/4, 3/4), expert 1, gate 3/4.
        // u = (3/8, 3/8), p̄ = (1/2, 1/2): L = α·2·(3/16 + 3/16) = 0.75 α.
        let ln3 = Float(log(3.0))
        var r = Routed([ln3, 0, 0, ln3], kind: .switchTop1, N: 2, E: 2, K: 1)
        var u = [Float](repeating: 0, count: 2), p = u
        let loss = withBuffers(&r) { loadBalancingForward(usage: &u, meanProbs: &p, $0, alpha: 0.01, 2, 2, 1) }
        XCTAssertEqual(loss, 0.0075, accuracy: 1e-7)
        XCTAssertEqual(u[0], 0.375, accuracy: 1e-7)
        XCTAssertEqual(p[1], 0.5, accuracy: 1e-7)
    }

    /// Runs `body` with a `RoutingBuffers` view of `r`'s arrays.
    func withBuffers<R>(_ r: inout Routed, _ body: (RoutingBuffers) -> R) -> R {
        var ex = r.experts, g = r.gates, p = r.probs, y = r.sampled
        return ex.withUnsafeMutableBufferPointer { ex in g.withUnsafeMutableBufferPointer { g in
            p.withUnsafeMutableBufferPointer { p in y.withUnsafeMutableBufferPointer { y in
                body(RoutingBuffers(experts: ex.baseAddress!, gates: g.baseAddress!, probs: p.baseAddress!, sampled: y.baseAddress!))
            } }
        } }
    }

    /// ∂(Σ wg·gates + Σ wp·probs)/∂logits vs central differences, for one kind.
    func assertRouteBackwardMatchesFiniteDifferences(_ kind: RoutingKind, file: StaticString = #filePath, line: UInt = #line) {
        let N = 6, E = 5, K = routingSlots(kind, k: 2, E: E), tau: Float = 0.7
        let logits = GradientCheck.randomFloats(N * E, seed: 11)
        let noise = kind == .sampleTop1 ? GradientCheck.randomFloats(N * E, seed: 12) : nil
        let wg = GradientCheck.randomFloats(N * K, seed: 13), wp = GradientCheck.randomFloats(N * E, seed: 14)
        let loss = { (x: [Float]) -> Double in
            let r = Routed(x, noise: noise, kind: kind, temperature: tau, N: N, E: E, K: K)
            return GradientCheck.project(r.gates, wg) + GradientCheck.project(r.probs, wp)
        }
        var r = Routed(logits, noise: noise, kind: kind, temperature: tau, N: N, E: E, K: K)
        var dlogits = [Float](repeating: 0, count: N * E)
        withBuffers(&r) { b in
            routeBackward(&dlogits, b, dgates: wg, dprobs: wp, kind: kind, temperature: tau, N, E, K)
        }
        let err = GradientCheck.relativeError(logits, analytic: dlogits, eps: 1e-3, loss: loss)
        XCTAssertLessThan(err, 1e-2, "\(kind)", file: file, line: line)
    }

    func testRouteBackwardMatchesFiniteDifferencesForEveryKind() {
        for kind in RoutingKind.allCases { assertRouteBackwardMatchesFiniteDifferences(kind) }
    }

    func testLoadBalancingBackwardMatchesFiniteDifferences() {
        let N = 5, E = 4, K = 2, alpha: Float = 0.3
        let logits = GradientCheck.randomFloats(N * E, seed: 21)
        let loss = { (x: [Float]) -> Double in
            var r = Routed(x, kind: .topK, N: N, E: E, K: K)
            var u = [Float](repeating: 0, count: E), p = u
            return Double(self.withBuffers(&r) { loadBalancingForward(usage: &u, meanProbs: &p, $0, alpha: alpha, N, E, K) })
        }
        var r = Routed(logits, kind: .topK, N: N, E: E, K: K)
        var u = [Float](repeating: 0, count: E), p = u
        var dgates = [Float](repeating: 0, count: N * K), dprobs = [Float](repeating: 0, count: N * E)
        var dlogits = [Float](repeating: 0, count: N * E)
        withBuffers(&r) { b in
            _ = loadBalancingForward(usage: &u, meanProbs: &p, b, alpha: alpha, N, E, K)
            loadBalancingBackward(dgates: &dgates, dprobs: &dprobs, b, usage: u, meanProbs: p, alpha: alpha, scale: 1, N, E, K)
            routeBackward(&dlogits, b, dgates: dgates, dprobs: dprobs, kind: .topK, temperature: 1, N, E, K)
        }
        XCTAssertLessThan(GradientCheck.relativeError(logits, analytic: dlogits, eps: 1e-3, loss: loss), 1e-2)
    }

    func testDispatchGroupsTokensPerExpertInRowOrderAndDropsBeyondCapacity() {
        let experts: [Int32] = [2, 0, 2, 2, 1, 2]  // N = 6, K = 1
        var slotOf = [Int32](repeating: 0, count: 6), rowOfSlot = [Int32](repeating: -7, count: 6)
        var counts = [Int](repeating: 0, count: 3), offsets = counts
        let dropped = dispatchPlan(slotOf: &slotOf, rowOfSlot: &rowOfSlot, counts: &counts, offsets: &offsets,
                                   experts: experts, capacity: 2, 6, 3, 1)
        XCTAssertEqual(dropped, 2)
        XCTAssertEqual(counts, [1, 1, 2])
        XCTAssertEqual(offsets, [0, 1, 2])
        XCTAssertEqual(slotOf, [2, 0, 3, -1, 1, -1])
        XCTAssertEqual(Array(rowOfSlot[0..<4]), [1, 4, 0, 2])
    }
}
