import BTXModel
import Foundation
import XCTest

final class OptimizerTests: XCTestCase {
    func testAdamWStepMatchesPyTorchFormulaAndSkipsDecayOnNorms() {
        let p = ParameterSet(layout: [("w", [2, 5]), ("norm", [3])])
        for i in 0..<p.count { p.storage[i] = Float(i) * 0.1 - 0.3 }
        let g = p.zerosLike()
        for i in 0..<g.count { g.storage[i] = Float(i % 4) - 1.5 }
        let hyper = AdamWHyperparameters(beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        let opt = AdamW(parameters: p, hyper: hyper)
        let before = p.flat
        let lr = 0.01
        for step in 1...2 {
            opt.update(p, gradients: g, lr: lr)
            XCTAssertEqual(opt.step, step)
        }
        // Reference in double: two identical steps from zero moments.
        for i in 0..<p.count {
            var x = Double(before[i]), m = 0.0, v = 0.0
            let gi = Double(g.storage[i]), decays = i < 10
            for t in 1...2 {
                m = 0.9 * m + 0.1 * gi
                v = 0.95 * v + 0.05 * gi * gi
                if decays { x *= 1 - lr * 0.1 }
                x -= lr * (m / (1 - pow(0.9, Double(t)))) / ((v / (1 - pow(0.95, Double(t)))).squareRoot() + 1e-8)
            }
            XCTAssertEqual(Double(p.storage[i]), x, accuracy: 1e-6, "element \(i)")
        }
    }

    func testScheduleWarmsUpLinearlyThenDecaysByCosineToTenPercent() {
        let s = LearningRateSchedule(peak: 1, warmupSteps: 4, totalSteps: 13)
        XCTAssertEqual(s.learningRate(at: 0), 0.25)
        XCTAssertEqual(s.learningRate(at: 3), 1)
        XCTAssertEqual(s.learningRate(at: 8), 0.55, accuracy: 1e-12)  // half way: (1 + 0.1) / 2
        XCTAssertEqual(s.learningRate(at: 12), 0.1, accuracy: 1e-12)  // the last step
        XCTAssertEqual(s.learningRate(at: 99), 0.1, accuracy: 1e-12)
    }

    func testClippingScalesGlobalNormToMaximumAndNormIsThreadIndependent() {
        let g = ParameterSet(layout: [("a", [100_000]), ("b", [7])])
        for i in 0..<g.count { g.storage[i] = Float((i * 7919) % 13) - 6 }
        let one = GradientNorm(count: g.count, threads: 1).norm(g)
        let two = GradientNorm(count: g.count, threads: 2).norm(g)
        XCTAssertEqual(one, two)
        let reference = (0..<g.count).map { Double(g.storage[$0]) * Double(g.storage[$0]) }.reduce(0, +).squareRoot()
        XCTAssertEqual(one, reference, accuracy: reference * 1e-6)
        let before = GradientNorm(count: g.count).clip(g, maxNorm: 2)
        XCTAssertEqual(before, one)
        XCTAssertEqual(GradientNorm(count: g.count).norm(g), 2, accuracy: 1e-4)
    }
}
