@testable import BTXModel
import BTXTensor
import TestSupport
import XCTest

final class MoEModelTests: XCTestCase {
    let B = 2, T = 5

    func moeModel(_ c: LlamaConfig, _ moe: MoEConfig, _ p: ParameterSet, training: Bool = true,
                  statistics: MoERoutingStatistics? = nil) throws -> (LlamaModel, MoERuntime) {
        let runtime = MoERuntime(moe: moe, layers: c.numHiddenLayers, hiddenSize: c.hiddenSize, rows: B * T,
                                 training: training, noiseSeed: 17, statistics: statistics)
        return (try MoEParameters.model(c, runtime: runtime, parameters: p, batchSize: B, sequenceLength: T,
                                        training: training), runtime)
    }

    func assertIdenticalExpertsComputeTheDenseOutput(_ routing: RoutingKind, file: StaticString = #filePath, line: UInt = #line) throws {
        let c = TinyModel.config()
        let dense = TinyModel.parameters(c, seed: 2, std: 0.3)
        let moe = try MoEConfig(numLocalExperts: 3, routing: routing)
        let mixed = try MoEMerge.mix(experts: [dense, dense, dense], config: c, moe: moe, router: .random(std: 0.5, seed: 1))
        let tokens = TinyModel.tokens(B: B, T: T, vocab: c.vocabSize, seed: 4).prefix(B * T).map { $0 }
        let reference = try LlamaModel(config: c, parameters: dense, batchSize: B, sequenceLength: T, training: false)
        try reference.forward(inputs: tokens)
        let (model, _) = try moeModel(c, moe, mixed, training: false)
        try model.forward(inputs: tokens)
        let diff = zip(reference.logits, model.logits).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(diff, 1e-5, "\(routing)", file: file, line: line)
    }

    func testMixtureOfIdenticalExpertsComputesTheDenseOutputWithTopK() throws {
        try assertIdenticalExpertsComputeTheDenseOutput(.topK)
    }

    func testMixtureOfIdenticalExpertsComputesTheDenseOutputWithSoftRouting() throws {
        try assertIdenticalExpertsComputeTheDenseOutput(.soft)
    }

    func testWholeMoEModelGradientsMatchFiniteDifferencesIncludingLoadBalancing() throws {
        let c = TinyModel.config(layers: 1)
        let moe = try MoEConfig(numLocalExperts: 3, routerAuxLossCoef: 0.5)
        let p = ParameterSet(layout: MoEParameters.layout(c, moe))
        LlamaParameters.initialize(p, seed: 3, std: 0.4)
        let (model, _) = try moeModel(c, moe, p)
        let tokens = TinyModel.tokens(B: B, T: T, vocab: c.vocabSize, seed: 9)
        let loss = { (x: [Float]) -> Double in
            x.withUnsafeBufferPointer { p.storage.update(from: $0.baseAddress!, count: x.count) }
            let ce = try! tokens.withUnsafeBufferPointer { try model.forward(sequences: $0) }
            return Double(ce) + Double(model.auxiliaryLoss)
        }
        let x = p.flat
        _ = loss(x)
        XCTAssertGreaterThan(model.auxiliaryLoss, 0)
        model.zeroGradients()
        model.backward()
        let err = GradientCheck.relativeError(x, analytic: model.gradients!.flat, eps: 2e-3, loss: loss)
        XCTAssertLessThan(err, 1e-2)
    }

    func testTwoIdenticalSampledRunsGiveBitwiseIdenticalParameters() throws {
        let c = TinyModel.config(vocab: 16)
        let moe = try MoEConfig(numLocalExperts: 4, routing: .sampleTop1, gumbelAnnealRate: 0.1)
        func run() throws -> [Float] {
            let p = ParameterSet(layout: MoEParameters.layout(c, moe))
            LlamaParameters.initialize(p, seed: 1, std: 0.1)
            let (model, runtime) = try moeModel(c, moe, p)
            let trainer = try Trainer(model: model, hyper: TrainingHyperparameters(
                steps: 4, batchSize: B, sequenceLength: T, gradientAccumulation: 2, learningRate: 1e-2, warmupSteps: 1))
            try trainer.train(batches: { step, micro, out in
                _ = out.update(fromContentsOf: TinyModel.tokens(B: self.B, T: self.T, vocab: 16, seed: UInt64(step * 2 + micro)))
                runtime.step = step
            })
            return p.flat
        }
        let a = try run(), b = try run()
        XCTAssertEqual(a, b)
    }

    func testMixAveragesSharedTensorsAndCopiesEachExpertsFeedForward() throws {
        let c = TinyModel.config()
        let experts = (1...3).map { TinyModel.parameters(c, seed: UInt64($0), std: 0.1) }
        let moe = try MoEConfig(numLocalExperts: 3)
        let mixed = try MoEMerge.mix(experts: experts, config: c, moe: moe, router: .zero)
        for e in 0..<3 {
            XCTAssertEqual(try mixed.values(MoEParameters.expert(1, e, "w1")), try experts[e].values("model.layers.1.mlp.gate_proj.weight"))
            XCTAssertEqual(try mixed.values(MoEParameters.expert(0, e, "w2")), try experts[e].values("model.layers.0.mlp.down_proj.weight"))
            XCTAssertEqual(try mixed.values(MoEParameters.expert(0, e, "w3")), try experts[e].values("model.layers.0.mlp.up_proj.weight"))
        }
        let name = "model.layers.1.self_attn.q_proj.weight"
        let mean = try (0..<experts[0].entry(name)!.count).map { i in
            Float((try experts.map { Double(try $0.values(name)[i]) }.reduce(0, +)) / 3)
        }
        XCTAssertEqual(try mixed.values(name), mean)
        XCTAssertTrue(try mixed.values(MoEParameters.router(0)).allSatisfy { $0 == 0 })
    }

    func testMixNamesTheFirstMismatchingTensor() throws {
        let c = TinyModel.config()
        let other = TinyModel.parameters(TinyModel.config(vocab: 14))
        XCTAssertThrowsError(try MoEMerge.mix(experts: [TinyModel.parameters(c), other], config: c,
                                              moe: try MoEConfig(numLocalExperts: 2), router: .zero)) { error in
            XCTAssertEqual(error as? ModelError, .shapeMismatch(name: "model.embed_tokens.weight", expected: [13, 12], actual: [14, 12]))
        }
    }

    func testConfigRejectsTopKAboveTheExpertCount() {
        XCTAssertThrowsError(try MoEConfig(numLocalExperts: 2, numExpertsPerTok: 3)) { error in
            XCTAssertTrue("\(error)".contains("num_experts_per_tok"))
        }
    }
}
