import BTXModel
import BTXTensor
import XCTest

final class TrainerTests: XCTestCase {
    let c = TinyModel.config()
    let B = 2, T = 6

    func hyper(steps: Int = 6, accumulation: Int = 2) -> TrainingHyperparameters {
        TrainingHyperparameters(steps: steps, batchSize: B, sequenceLength: T, gradientAccumulation: accumulation,
                                learningRate: 1e-2, warmupSteps: 2, gradientClip: 0.5, seed: 42)
    }

    /// The data loader: a pure function of (step, microstep).
    func batches(_ step: Int, _ micro: Int, _ out: UnsafeMutableBufferPointer<Int32>) {
        let tokens = TinyModel.tokens(B: B, T: T, vocab: c.vocabSize, seed: UInt64(step * 10 + micro))
        _ = out.update(fromContentsOf: tokens)
    }

    func makeTrainer(_ h: TrainingHyperparameters? = nil, threads: Int = 2) throws -> Trainer {
        let model = try LlamaModel(config: c, parameters: TinyModel.parameters(c, seed: 7), batchSize: B,
                                   sequenceLength: T, threads: threads)
        return try Trainer(model: model, hyper: h ?? hyper())
    }

    func testTwoIdenticalRunsGiveBitwiseIdenticalParameters() throws {
        let a = try makeTrainer(), b = try makeTrainer()
        var lossesA = [Double](), lossesB = [Double]()
        try a.train(batches: batches, onStep: { lossesA.append($0.loss) })
        try b.train(batches: batches, onStep: { lossesB.append($0.loss) })
        XCTAssertEqual(a.model.parameters.flat, b.model.parameters.flat)
        XCTAssertEqual(lossesA, lossesB)
        XCTAssertNotEqual(a.model.parameters.flat, TinyModel.parameters(c, seed: 7).flat)
    }

    func testOneThreadAndTwoThreadsGiveBitwiseIdenticalParameters() throws {
        let a = try makeTrainer(threads: 1), b = try makeTrainer(threads: 2)
        try a.train(batches: batches)
        try b.train(batches: batches)
        XCTAssertEqual(a.model.parameters.flat, b.model.parameters.flat)
    }

    /// The runner gives a stage as many threads as are free when it starts, so an MoE finetune must not
    /// depend on them either: every routing, 1, 2 and 3 threads, 3 steps with clipping (GQA, 144 rows).
    func testMoETrainingIsBitwiseTheSameAtOneTwoAndThreeThreadsForEveryRouting() throws {
        let c = try LlamaConfig(hiddenSize: 64, intermediateSize: 88, numHiddenLayers: 2, numAttentionHeads: 4,
                                numKeyValueHeads: 2, vocabSize: 100, maxPositionEmbeddings: 72)
        let B = 2, T = 72
        var rng = SplitMix64(seed: 5)
        let data = (0..<3 * B * (T + 1)).map { _ in Int32(rng.next() % 100) }
        for (routing, k) in [(RoutingKind.topK, 2), (.switchTop1, 1), (.sampleTop1, 1), (.soft, 2)] {
            let moe = try MoEConfig(numLocalExperts: 4, numExpertsPerTok: k, routing: routing)
            func train(threads: Int) throws -> [Float] {
                let p = ParameterSet(layout: MoEParameters.layout(c, moe))
                LlamaParameters.initialize(p, seed: 3)
                let runtime = MoERuntime(moe: moe, layers: c.numHiddenLayers, hiddenSize: c.hiddenSize, rows: B * T, training: true, noiseSeed: 9)
                let model = try MoEParameters.model(c, runtime: runtime, parameters: p, batchSize: B, sequenceLength: T, threads: threads)
                let trainer = try Trainer(model: model, hyper: TrainingHyperparameters(
                    steps: 3, batchSize: B, sequenceLength: T, gradientAccumulation: 1, learningRate: 1e-2, warmupSteps: 1,
                    gradientClip: 0.5, seed: 1))
                try trainer.train(batches: { step, _, out in
                    data.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress! + step * B * (T + 1), count: B * (T + 1)) }
                })
                return model.parameters.flat
            }
            let one = try train(threads: 1)
            XCTAssertEqual(one, try train(threads: 2), "\(routing) at 2 threads")
            XCTAssertEqual(one, try train(threads: 3), "\(routing) at 3 threads")
        }
    }

    func testResumedRunIsBitwiseIdenticalToUninterruptedRun() throws {
        let uninterrupted = try makeTrainer()
        try uninterrupted.train(batches: batches)
        let first = try makeTrainer()
        var stopAfter = 3
        try first.train(batches: batches, shouldStop: { stopAfter == 0 }, onStep: { _ in stopAfter -= 1 })
        XCTAssertEqual(first.step, 3)
        let state = first.exportState()
        XCTAssertEqual(state.scalars["step"], 3)
        XCTAssertNotNil(state.tensors["optimizer.exp_avg_sq.model.layers.1.mlp.up_proj.weight"])
        let resumed = try makeTrainer()  // rebuilt from scratch (fresh init) then restored
        try resumed.restore(state)
        try resumed.train(batches: batches)
        XCTAssertEqual(resumed.model.parameters.flat, uninterrupted.model.parameters.flat)
        XCTAssertEqual(resumed.exportState(), uninterrupted.exportState())
    }

    func testBadStateIsRejectedAndLeavesTheRunUntouched() throws {
        let t = try makeTrainer()
        let before = t.exportState()
        var state = before
        state.tensors["optimizer.exp_avg.model.norm.weight"] = nil
        XCTAssertThrowsError(try t.restore(state)) {
            XCTAssertEqual($0 as? ModelError, .missingParameter("optimizer.exp_avg.model.norm.weight"))
        }
        state = before
        state.tensors["model.norm.weight"]?.values = [0]
        state.scalars["step"] = 9
        XCTAssertThrowsError(try t.restore(state))
        XCTAssertEqual(t.exportState(), before)
    }

    func testGradientAccumulationMatchesOneBigBatch() throws {
        // Two micro-batches of B rows ≈ one batch of 2B rows (same rows, mean loss): equal up to rounding.
        let split = try makeTrainer(hyper(steps: 1, accumulation: 2))
        try split.trainStep(batches: batches)
        let model = try LlamaModel(config: c, parameters: TinyModel.parameters(c, seed: 7), batchSize: 2 * B, sequenceLength: T)
        let whole = try Trainer(model: model, hyper: TrainingHyperparameters(
            steps: 1, batchSize: 2 * B, sequenceLength: T, learningRate: 1e-2, warmupSteps: 2, gradientClip: 0.5, seed: 42))
        try whole.trainStep { step, _, out in
            let half = self.B * (self.T + 1)
            self.batches(step, 0, UnsafeMutableBufferPointer(rebasing: out[0..<half]))
            self.batches(step, 1, UnsafeMutableBufferPointer(rebasing: out[half...]))
        }
        // Compare the (clipped) gradients: Adam's update would magnify rounding in near-zero ones.
        let a = split.model.gradients!.flat, b = whole.model.gradients!.flat
        let scale = a.map(abs).max()!
        for i in 0..<a.count { XCTAssertEqual(a[i], b[i], accuracy: 1e-5 * scale) }
    }

    func testInvalidHyperparametersAreRejectedNamingTheField() throws {
        var h = hyper()
        h.adamW.beta2 = 1
        XCTAssertThrowsError(try makeTrainer(h)) { XCTAssertTrue("\($0)".contains("beta2")) }
        h = hyper()
        h.learningRate = -1
        XCTAssertThrowsError(try makeTrainer(h)) { XCTAssertTrue("\($0)".contains("learning_rate")) }
    }

    func testDivergenceIsReportedAsNonFiniteLoss() throws {
        let t = try makeTrainer()
        t.model.parameters.storage[0] = .nan
        XCTAssertThrowsError(try t.trainStep { _, _, out in _ = out.update(fromContentsOf: [Int32](repeating: 0, count: out.count)) }) {
            XCTAssertEqual($0 as? ModelError, .nonFiniteLoss(step: 0))
        }
    }
}
