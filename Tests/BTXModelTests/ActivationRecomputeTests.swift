@testable import BTXModel
import BTXTensor
import TestSupport
import XCTest

/// Activation recomputation (`recomputeActivations`): blocks keep only their inputs and replay
/// their forward pass just before their backward pass. It must change memory, never results.
final class ActivationRecomputeTests: XCTestCase {
    let B = 2, T = 6

    /// Parameters after `steps` Trainer steps (2 micro-batches each, clipping on), and each step's loss.
    func train(_ c: LlamaConfig, moe: MoEConfig? = nil, recompute: Bool, steps: Int = 3,
               statistics: MoERoutingStatistics? = nil) throws -> (parameters: [Float], losses: [Double]) {
        let p = ParameterSet(layout: moe.map { MoEParameters.layout(c, $0) } ?? LlamaParameters.layout(c))
        LlamaParameters.initialize(p, seed: 5, std: 0.3)
        let runtime = moe.map { MoERuntime(moe: $0, layers: c.numHiddenLayers, hiddenSize: c.hiddenSize, rows: B * T,
                                           training: true, noiseSeed: 11, statistics: statistics) }
        let model = try runtime.map {
            try MoEParameters.model(c, runtime: $0, parameters: p, batchSize: B, sequenceLength: T, recomputeActivations: recompute)
        } ?? LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T, recomputeActivations: recompute)
        XCTAssertEqual(model.recomputesActivations, recompute)
        let trainer = try Trainer(model: model, hyper: TrainingHyperparameters(
            steps: steps, batchSize: B, sequenceLength: T, gradientAccumulation: 2, learningRate: 1e-2, warmupSteps: 1,
            gradientClip: 0.5))
        var losses = [Double]()
        for step in 0..<steps {
            runtime?.step = step
            losses.append(try trainer.trainStep(batches: { step, micro, out in
                _ = out.update(fromContentsOf: TinyModel.tokens(B: self.B, T: self.T, vocab: c.vocabSize, seed: UInt64(step * 2 + micro)))
            }).loss)
        }
        return (p.flat, losses)
    }

    func assertRecomputeChangesNothing(_ c: LlamaConfig, moe: MoEConfig? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let kept = try train(c, moe: moe, recompute: false), recomputed = try train(c, moe: moe, recompute: true)
        XCTAssertEqual(kept.losses, recomputed.losses, file: file, line: line)
        XCTAssertEqual(kept.parameters, recomputed.parameters, "parameters after training differ", file: file, line: line)
        let initial = ParameterSet(layout: moe.map { MoEParameters.layout(c, $0) } ?? LlamaParameters.layout(c))
        LlamaParameters.initialize(initial, seed: 5, std: 0.3)
        XCTAssertNotEqual(initial.flat, kept.parameters, "training must move the parameters", file: file, line: line)
    }

    func testDenseTrainingIsBitwiseTheSameWithGroupedQueryAttention() throws {
        try assertRecomputeChangesNothing(TinyModel.config(layers: 3))
    }

    func testDenseTrainingIsBitwiseTheSameWithTiedEmbeddings() throws {
        try assertRecomputeChangesNothing(TinyModel.config(tied: true, layers: 2))
    }

    func testTopKMixtureWithLoadBalancingIsBitwiseTheSame() throws {
        try assertRecomputeChangesNothing(TinyModel.config(layers: 3), moe: try MoEConfig(numLocalExperts: 3, routerAuxLossCoef: 0.1))
    }

    /// The replay must draw the Gumbel noise of the call it replays, not the next one.
    func testSampledRoutingReplaysTheSameNoise() throws {
        let moe = try MoEConfig(numLocalExperts: 4, routing: .sampleTop1, gumbelAnnealRate: 0.1)
        try assertRecomputeChangesNothing(TinyModel.config(layers: 2, vocab: 16), moe: moe)
    }

    /// A replayed forward pass is not counted again in the routing statistics.
    func testRoutingIsCountedOnce() throws {
        let c = TinyModel.config(layers: 2), moe = try MoEConfig(numLocalExperts: 3)
        func counts(recompute: Bool) throws -> [Int] {
            let statistics = MoERoutingStatistics(layers: c.numHiddenLayers, experts: 3, maxRows: B * T)
            _ = try train(c, moe: moe, recompute: recompute, steps: 2, statistics: statistics)
            return (0..<c.numHiddenLayers).flatMap { l in (0..<3).map { statistics.tokens(layer: l, expert: $0) } }
        }
        let kept = try counts(recompute: false)
        XCTAssertEqual(kept.reduce(0, +), 2 * 2 * 2 * B * T * 2, "2 steps × 2 micro-batches × 2 layers × B·T tokens × top-2")
        XCTAssertEqual(try counts(recompute: true), kept)
    }

    /// Blocks share every activation buffer but their input; inference ignores the option.
    func testBlocksShareTheirActivationBuffers() throws {
        let c = TinyModel.config(layers: 3), p = TinyModel.parameters(c)
        let recomputing = try LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T, recomputeActivations: true)
        let keeping = try LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T)
        XCTAssertTrue(recomputing.acts[2].qkv === recomputing.acts[0].qkv)
        XCTAssertTrue(recomputing.acts[2].residualMid === recomputing.acts[1].residualMid)
        XCTAssertTrue(recomputing.acts[2].lse === recomputing.acts[0].lse)
        XCTAssertFalse(recomputing.acts[2].residual === recomputing.acts[1].residual)
        XCTAssertFalse(keeping.acts[2].qkv === keeping.acts[0].qkv)
        // And so do their feed-forward layers, dense and mixture.
        func gateUp(_ m: LlamaModel, _ l: Int) -> Buffer<Float> { (m.feedForward[l] as! DenseFeedForward).gateUpAct }
        XCTAssertTrue(gateUp(recomputing, 2) === gateUp(recomputing, 0))
        XCTAssertFalse(gateUp(keeping, 2) === gateUp(keeping, 0))
        let moe = try MoEConfig(numLocalExperts: 3)
        let mp = ParameterSet(layout: MoEParameters.layout(c, moe))
        let runtime = MoERuntime(moe: moe, layers: c.numHiddenLayers, hiddenSize: c.hiddenSize, rows: B * T, training: true)
        let mixture = try MoEParameters.model(c, runtime: runtime, parameters: mp, batchSize: B, sequenceLength: T,
                                              recomputeActivations: true)
        func experts(_ l: Int) -> MoEFeedForward { mixture.feedForward[l] as! MoEFeedForward }
        XCTAssertTrue(experts(2).expertOut === experts(0).expertOut)
        XCTAssertTrue(experts(1).gateAct === experts(0).gateAct)
        let inference = try LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T, training: false,
                                       recomputeActivations: true)
        XCTAssertFalse(inference.recomputesActivations)
    }
}
