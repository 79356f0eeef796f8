@testable import BTXModel
import BTXTensor
import XCTest

/// Frozen tensors (finetune's `freeze_experts` and `train: router`) get no gradient at all: the model
/// skips their weight-gradient products, and training ends bitwise where the old behaviour (compute
/// every gradient, zero the frozen ones before clipping) ends.
final class FrozenTrainingTests: XCTestCase {
    let B = 2, T = 6
    let c = TinyModel.config(vocab: 16)

    /// A 3-expert top-2 MoE (LB loss on) trained 3 steps with 2 micro-batches each; `frozen` is left
    /// to the optimizer alone (`inModel: false`, the old behaviour) or given to the model too.
    func train(frozen: (ParameterSet) -> Set<String>, inModel: Bool) throws -> (parameters: [Float], gemms: GEMMCounter) {
        let moe = try MoEConfig(numLocalExperts: 3, routerAuxLossCoef: 0.1)
        let p = Self.initial(c, moe)
        let names = frozen(p)
        let runtime = MoERuntime(moe: moe, layers: c.numHiddenLayers, hiddenSize: c.hiddenSize, rows: B * T, training: true)
        let model = try MoEParameters.model(c, runtime: runtime, parameters: p, batchSize: B, sequenceLength: T,
                                            frozen: inModel ? names : [])
        let trainer = try Trainer(model: model, hyper: TrainingHyperparameters(
            steps: 3, batchSize: B, sequenceLength: T, gradientAccumulation: 2, learningRate: 1e-2, warmupSteps: 1))
        trainer.optimizer.frozen = names
        try trainer.train(batches: { step, micro, out in
            _ = out.update(fromContentsOf: TinyModel.tokens(B: self.B, T: self.T, vocab: 16, seed: UInt64(step * 2 + micro)))
            runtime.step = step
        })
        return (p.flat, model.gemms)
    }

    static func initial(_ c: LlamaConfig, _ moe: MoEConfig) -> ParameterSet {
        let p = ParameterSet(layout: MoEParameters.layout(c, moe))
        LlamaParameters.initialize(p, seed: 5, std: 0.2)
        return p
    }

    /// Runs old and new behaviour and checks: bitwise-equal parameters, frozen tensors unchanged,
    /// the same input-gradient work, and returns both counters.
    func compare(frozen: @escaping (ParameterSet) -> Set<String>,
                 file: StaticString = #filePath, line: UInt = #line) throws -> (old: GEMMCounter, new: GEMMCounter) {
        let old = try train(frozen: frozen, inModel: false), new = try train(frozen: frozen, inModel: true)
        XCTAssertEqual(old.parameters, new.parameters, "bitwise as computing then zeroing", file: file, line: line)
        let start = Self.initial(c, try MoEConfig(numLocalExperts: 3))
        for name in frozen(start) {
            let e = start.entry(name)!
            XCTAssertEqual(Array(new.parameters[e.offset..<(e.offset + e.count)]), try start.values(name), name, file: file, line: line)
        }
        XCTAssertNotEqual(new.parameters, start.flat, "the trainable tensors moved", file: file, line: line)
        XCTAssertEqual(old.gemms.inputGradientFLOPs, new.gemms.inputGradientFLOPs, "gradients still reach the layers below",
                       file: file, line: line)
        return (old.gemms, new.gemms)
    }

    func testFrozenExpertsTrainBitwiseAsZeroingTheirGradientsWithoutTheirWeightGradientProducts() throws {
        let (old, new) = try compare { Set($0.entries.map(\.name).filter { $0.contains("block_sparse_moe.experts.") }) }
        // Per micro-batch the experts' products are 3 per expert visited; the rest (attention, head, routers) remain.
        XCTAssertLessThan(new.weightGradientCalls, old.weightGradientCalls)
        XCTAssertLessThan(new.weightGradientFLOPs, old.weightGradientFLOPs)
        let dense = 2 * 3 * (1 + c.numHiddenLayers * 5)  // micro-batches × (lm head + per layer q, k, v, o, router)
        XCTAssertEqual(new.weightGradientCalls, dense)
    }

    func testRouterOnlyTrainingRunsOnlyTheRoutersWeightGradientProducts() throws {
        let (old, new) = try compare { Set($0.entries.map(\.name).filter { !$0.hasSuffix("block_sparse_moe.gate.weight") }) }
        XCTAssertEqual(new.weightGradientCalls, 2 * 3 * c.numHiddenLayers, "one router product per layer and micro-batch")
        XCTAssertEqual(new.weightGradientFLOPs, 2 * 3 * c.numHiddenLayers * 2 * B * T * c.hiddenSize * 3)
        XCTAssertGreaterThan(old.weightGradientFLOPs, 10 * new.weightGradientFLOPs)
    }

    func testFrozenNormsEmbeddingAndHeadGradientsAreNeverWritten() throws {
        let p = TinyModel.parameters(c, seed: 3, std: 0.2)
        let frozen: Set<String> = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
                                   "model.layers.0.input_layernorm.weight", "model.layers.1.mlp.down_proj.weight"]
        let model = try LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T, frozen: frozen)
        let reference = try LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T)
        let tokens = TinyModel.tokens(B: B, T: T, vocab: 16, seed: 1)
        for m in [model, reference] {
            _ = try tokens.withUnsafeBufferPointer { try m.forward(sequences: $0) }
            m.zeroGradients()
            for name in frozen { m.gradients!.pointer(name).update(repeating: 7, count: p.entry(name)!.count) }  // a sentinel
            m.backward()
        }
        for e in p.entries {
            let got = try model.gradients!.values(e.name), want = try reference.gradients!.values(e.name)
            if frozen.contains(e.name) {
                XCTAssertTrue(got.allSatisfy { $0 == 7 }, "\(e.name) was written")
                XCTAssertFalse(want.allSatisfy { $0 == 7 }, "\(e.name) has a gradient when trained")
            } else {
                XCTAssertEqual(got, want, e.name)
            }
        }
    }
}
