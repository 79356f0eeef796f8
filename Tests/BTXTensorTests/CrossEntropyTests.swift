import BTXTensor
import TestSupport
import XCTest

final class CrossEntropyTests: XCTestCase {
    let N = 4, V = 19
    let targets: [Int32] = [0, 18, 7, 7]

    func loss(_ logits: [Float], kernel: KernelBuild = .best) -> Double {
        var probs = logits, losses = [Float](repeating: 0, count: N)
        return Double(crossEntropyForward(&losses, &probs, targets, N, V, kernel: kernel))
    }

    /// Every build of the C softmax this CPU runs (V = 19: two 8-lane vectors and a scalar tail per row).
    func testLossMatchesLogSumExpReference() {
        let logits = GradientCheck.randomFloats(N * V, seed: 30, std: 3)
        var ref = 0.0
        for n in 0..<N {
            let row = logits[n * V..<(n + 1) * V].map(Double.init)
            let m = row.max()!
            ref += m + log(row.map { exp($0 - m) }.reduce(0, +)) - row[Int(targets[n])]
        }
        for kernel in KernelBuild.available { XCTAssertEqual(loss(logits, kernel: kernel), ref / Double(N), accuracy: 1e-5) }
    }

    func testFusedBackwardMatchesFiniteDifferences() {
        let logits = GradientCheck.randomFloats(N * V, seed: 30, std: 3)
        var probs = logits, losses = [Float](repeating: 0, count: N)
        _ = crossEntropyForward(&losses, &probs, targets, N, V, threads: 2)
        crossEntropyBackward(&probs, targets, dloss: 1 / Float(N), N, V, threads: 2)
        XCTAssertLessThan(GradientCheck.relativeError(logits, analytic: probs, eps: 1e-2) { self.loss($0) }, 1e-2)
    }

    func testForwardBackwardInOnePassEqualsForwardThenBackward() {
        let logits = GradientCheck.randomFloats(N * V, seed: 31, std: 3)
        var probs = logits, losses = [Float](repeating: 0, count: N)
        let mean = crossEntropyForward(&losses, &probs, targets, N, V, threads: 2)
        crossEntropyBackward(&probs, targets, dloss: 0.3, N, V, threads: 2)
        var fused = logits, fusedLosses = [Float](repeating: 0, count: N)
        let total = crossEntropyForwardBackward(&fusedLosses, &fused, targets, dloss: 0.3, N, V, threads: 2)
        XCTAssertEqual(Float(total) / Float(N), mean, accuracy: 1e-5)
        for n in 0..<N { XCTAssertEqual(fusedLosses[n], losses[n], accuracy: 1e-5) }
        for i in 0..<N * V { XCTAssertEqual(fused[i], probs[i], accuracy: 1e-6) }
    }

    func testForwardBackwardGivesFiniteLossWhereTheTargetsProbabilityUnderflows() {
        var logits = [Float](repeating: 0, count: N * V), losses = [Float](repeating: 0, count: N)
        for n in 0..<N { logits[n * V + (Int(targets[n]) + 1) % V] = 1e4 }
        let total = crossEntropyForwardBackward(&losses, &logits, targets, dloss: 1, N, V)
        XCTAssertTrue(total.isFinite && total > 0)
        XCTAssertTrue(logits.allSatisfy(\.isFinite))
    }

    func testHugeLogitsGiveFiniteLoss() {
        var logits = [Float](repeating: 0, count: N * V)
        for n in 0..<N { logits[n * V + (Int(targets[n]) + 1) % V] = 1e4 }
        XCTAssertTrue(loss(logits).isFinite)
    }
}
