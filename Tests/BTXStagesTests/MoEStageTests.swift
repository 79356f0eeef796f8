import BTXModel
@testable import BTXPipeline
@testable import BTXStages
import BTXStore
import TestSupport
import XCTest

/// A test-only kind: the fixture tokens of one domain (so that a pipeline can feed `finetune`).
struct FixtureTokensStage: StageKind {
    static let name = "fixture-tokens"
    static let version = 1
    func validate(_ params: StageParams) throws {
        _ = try params.string("domain")
        _ = try params.array("pattern")
    }
    func run(_ context: StageContext) throws -> Manifest {
        let pattern = try context.params.array("pattern").map { UInt32($0.intValue ?? 0) }
        return try StageFixtures.tokens(context.store, domain: try context.params.string("domain"), pattern: pattern)
    }
}

final class MoEStageTests: XCTestCase {
    /// Seed + 3 experts each trained a few steps on its own domain, and the domains' tokens.
    struct Trained {
        let seed: Manifest, experts: [Manifest], data: [Manifest]
    }

    func trained(_ store: Store) throws -> Trained {
        let seed = try StageFixtures.seedModel(store)
        let patterns: [[UInt32]] = [[1, 2, 3, 4, 5], [9, 8, 7], [20, 30, 40, 50]]
        let data = try patterns.enumerated().map { try StageFixtures.tokens(store, domain: "d\($0)", pattern: $1) }
        let experts = try data.enumerated().map { i, d in
            try TrainStage().run(StageFixtures.context(store, stage: "expert[\(i)]", params: StageFixtures.trainParams(steps: 3),
                                                       inputs: ["model": seed, "data": d]))
        }
        return Trained(seed: seed, experts: experts, data: data)
    }

    func inputs(_ t: Trained, seed: Bool = true) -> [String: Manifest] {
        var inputs: [String: Manifest] = [:]
        for (i, e) in t.experts.enumerated() { inputs["experts.\(i)"] = e }
        for (i, d) in t.data.enumerated() { inputs["data.\(i)"] = d }
        if seed { inputs["seed"] = t.seed }
        return inputs
    }

    /// The experts and seed mixed into an MoE, and the finetune inputs built on it (the domains' data + the model).
    func finetuneInputs(_ t: Trained, _ store: Store) throws -> (mixed: Manifest, given: [String: Manifest]) {
        let mixed = try MixStage().run(StageFixtures.context(store, params: [:], inputs: inputs(t)))
        var given = inputs(t, seed: false).filter { $0.key.hasPrefix("data") }
        given["model"] = mixed
        return (mixed, given)
    }

    func testMixTakesExpertFeedForwardsByReferenceAndAveragesTheRest() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let t = try trained(store)
        let mixed = try MixStage().run(StageFixtures.context(store, params: ["router_seed": 3], inputs: inputs(t)))
        let models = t.experts + [t.seed]
        for l in 0..<2 {
            for (m, model) in models.enumerated() {
                XCTAssertEqual(mixed.tensors[MoEParameters.expert(l, m, "w1")], model.tensors["model.layers.\(l).mlp.gate_proj.weight"])
                XCTAssertEqual(mixed.tensors[MoEParameters.expert(l, m, "w2")], model.tensors["model.layers.\(l).mlp.down_proj.weight"])
                XCTAssertEqual(mixed.tensors[MoEParameters.expert(l, m, "w3")], model.tensors["model.layers.\(l).mlp.up_proj.weight"])
            }
            XCTAssertEqual(mixed.tensors[MoEParameters.router(l)]?.shape, [4, 32])
        }
        let name = "model.layers.0.self_attn.q_proj.weight"
        let copies = try models.map { try store.floats($0.tensors[name]!) }
        let mean = (0..<copies[0].count).map { i in Float(copies.reduce(0.0) { $0 + 0.25 * Double($1[i]) }) }
        XCTAssertEqual(try store.floats(mixed.tensors[name]!), mean)
        XCTAssertNotEqual(copies[0], copies[1], "the experts were trained apart")
        XCTAssertEqual(mixed.metadata["config"]?["num_local_experts"], 4)
        XCTAssertNil(mixed.tensors["model.layers.0.mlp.gate_proj.weight"])
    }

    func testMixNamesTheFirstMismatchingTensor() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let t = try trained(store)
        var broken = t.experts[1]
        broken.tensors["model.layers.1.self_attn.k_proj.weight"] = broken.tensors["model.layers.1.mlp.up_proj.weight"]
        var given = inputs(t)
        given["experts.1"] = broken
        XCTAssertThrowsError(try MixStage().run(StageFixtures.context(store, params: [:], inputs: given))) {
            XCTAssertEqual("\($0)", "input 'experts.1': tensor model.layers.1.self_attn.k_proj.weight has shape [64, 32], expected [32, 32] as in 'experts.0'")
        }
    }

    func testHiddenRouterInitIsEachExpertsMeanHiddenStateAndSplitMakesChunks() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let t = try trained(store)
        let mixed = try MixStage().run(StageFixtures.context(store, params: ["router_init": "hidden", "split": 2, "hidden_tokens": 64],
                                                             inputs: inputs(t, seed: false)))
        let router = try store.floats(mixed.tensors[MoEParameters.router(1)]!)
        XCTAssertEqual(router.count, 6 * 32)
        XCTAssertEqual(Array(router[0..<32]), Array(router[32..<64]), "both chunks of expert 0 share its hidden state")
        XCTAssertNotEqual(Array(router[0..<32]), Array(router[64..<96]))
        XCTAssertEqual(mixed.tensors[MoEParameters.expert(0, 3, "w2")]?.shape, [32, 32])
        XCTAssertEqual(mixed.metadata["config"]?["intermediate_size"], 32)
    }

    func testBlendedExpertJConcatenatesChunkJOfEveryModel() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let t = try trained(store)
        let mixed = try MixStage().run(StageFixtures.context(store, params: ["blend": 4], inputs: inputs(t)))
        let models = t.experts + [t.seed], C = 32, I = 64, n = 16  // 4 models, 4 chunks of 16 each
        XCTAssertEqual(mixed.metadata["config"]?["num_local_experts"], 4)
        XCTAssertEqual(mixed.metadata["config"]?["intermediate_size"], 64, "C = N keeps the dense width")
        for j in 0..<4 {
            let w1 = try store.floats(mixed.tensors[MoEParameters.expert(1, j, "w1")]!)
            let w2 = try store.floats(mixed.tensors[MoEParameters.expert(1, j, "w2")]!)
            for (m, model) in models.enumerated() {
                let gate = try store.floats(model.tensors["model.layers.1.mlp.gate_proj.weight"]!)  // [I, C]
                let down = try store.floats(model.tensors["model.layers.1.mlp.down_proj.weight"]!)  // [C, I]
                XCTAssertEqual(Array(w1[(m * n * C)..<((m + 1) * n * C)]), Array(gate[(j * n * C)..<((j + 1) * n * C)]), "w1 rows")
                for r in [0, 17, C - 1] {
                    XCTAssertEqual(Array(w2[(r * I + m * n)..<(r * I + (m + 1) * n)]), Array(down[(r * I + j * n)..<(r * I + (j + 1) * n)]),
                                   "w2 row \(r) columns")
                }
            }
        }
    }

    func testMixtureOfBlendedIdenticalExpertsWithUniformSoftRoutingComputesTheDenseModel() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let seed = try StageFixtures.seedModel(store, seed: 5)
        let params: [String: JSONValue] = ["blend": 2, "routing": "soft", "router_init": "zero"]
        let mixed = try MixStage().run(StageFixtures.context(store, params: params, inputs: ["experts.0": seed, "experts.1": seed]))
        let batch = (0..<(2 * 17)).map { Int32($0 * 5 % 64) }
        func probabilities(_ m: Manifest) throws -> [Float] {
            let model = try ModelLoader.inference(m, input: "model", store: store, batchSize: 2, sequenceLength: 16, threads: 1)
            var out = [Float](repeating: 0, count: 32)
            try model.targetProbabilities(batch, domain: 0, into: &out)
            return out
        }
        let dense = try probabilities(seed), moe = try probabilities(mixed)
        XCTAssertLessThan(zip(dense, moe).map { abs($0 - $1) }.max()!, 1e-5)
    }

    func testBlendRejectsChunksThatDoNotDivideTheWidthAndSplitTogether() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let seed = try StageFixtures.seedModel(store)
        let given = ["experts.0": seed, "experts.1": seed]
        XCTAssertThrowsError(try MixStage().run(StageFixtures.context(store, params: ["blend": 3], inputs: given))) {
            XCTAssertEqual("\($0)", "\(StageError.badParameter(field: "blend", expected: "a divisor of intermediate_size 64", actual: "3"))")
        }
        XCTAssertThrowsError(try MixStage().run(StageFixtures.context(store, params: ["blend": 2, "split": 2], inputs: given))) {
            XCTAssertTrue("\($0)".contains("blend"), "\($0)")
        }
    }

    func testFinetuneLearnsAndRecordsExpertLoadPerDomainAndResumesBitwise() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let t = try trained(store)
        let (mixed, given) = try finetuneInputs(t, store)
        let params = StageFixtures.trainParams(steps: 6, checkpointEvery: 2).merging(["load_tokens": 64]) { $1 }
        let straight = try FinetuneStage().run(StageFixtures.context(store, stage: "a", params: params, inputs: given))
        let interrupted = StageFixtures.context(store, stage: "b", params: params, inputs: given, cancelAtStep: 3)
        XCTAssertThrowsError(try FinetuneStage().run(interrupted)) { XCTAssertEqual($0 as? StageError, .cancelled) }
        let resumed = try FinetuneStage().run(StageFixtures.context(store, stage: "b", params: params, inputs: given))
        XCTAssertEqual(resumed.tensors, straight.tensors)
        let load = try XCTUnwrap(straight.metadata["expert_load"])
        XCTAssertEqual(load["domains"], ["d0", "d1", "d2"])
        let tokens = try XCTUnwrap(load["tokens"]?.arrayValue?[1].arrayValue?[0].arrayValue).compactMap(\.intValue)
        XCTAssertEqual(tokens.reduce(0, +), 2 * 64, "top-2: every token counted twice")
        XCTAssertEqual(try ModelManifest.history(straight).runs.last?.steps, 6)
    }

    /// `recompute_activations` trades memory for a forward pass: the finetuned model is the same.
    func testFinetuneWithRecomputedActivationsGivesTheSameModel() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let (_, given) = try finetuneInputs(try trained(store), store)
        let params = StageFixtures.trainParams(steps: 3).merging(["load_tokens": 0]) { $1 }
        let kept = try FinetuneStage().run(StageFixtures.context(store, stage: "a", params: params, inputs: given))
        let recomputing = StageFixtures.context(store, stage: "b", params: params.merging(["recompute_activations": true]) { $1 },
                                                inputs: given)
        let recomputed = try FinetuneStage().run(recomputing)
        XCTAssertEqual(recomputed.tensors, kept.tensors)
        XCTAssertTrue(recomputing.logText.contains("recomputing activations"), recomputing.logText)
    }

    func testRouterOnlyFinetuneLeavesEverythingButTheRoutersAlone() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let t = try trained(store)
        let (mixed, given) = try finetuneInputs(t, store)
        let params = StageFixtures.trainParams(steps: 3).merging(["train": "router", "load_tokens": 0]) { $1 }
        let out = try FinetuneStage().run(StageFixtures.context(store, params: params, inputs: given))
        for (name, entry) in out.tensors {
            if name.hasSuffix("gate.weight") { XCTAssertNotEqual(entry.object, mixed.tensors[name]?.object, name) }
            else { XCTAssertEqual(entry.object, mixed.tensors[name]?.object, name) }
        }
    }

    func testFrozenExpertsFinetuneKeepsTheExpertObjectsAndTrainsTheRest() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let t = try trained(store)
        let (mixed, given) = try finetuneInputs(t, store)
        let params = StageFixtures.trainParams(steps: 3).merging(["freeze_experts": true, "load_tokens": 0]) { $1 }
        let out = try FinetuneStage().run(StageFixtures.context(store, params: params, inputs: given))
        for (name, entry) in out.tensors {
            if name.contains("block_sparse_moe.experts.") { XCTAssertEqual(entry.object, mixed.tensors[name]?.object, name) }
            else { XCTAssertNotEqual(entry.object, mixed.tensors[name]?.object, name) }
        }
    }

    /// Frozen weights skip their weight-gradient product (2 of the 6 FLOPs per parameter and token), so
    /// compute matching gives a frozen-experts variant more steps, not the full-training price.
    func testFrozenWeightsAreChargedWhatTheyCompute() throws {
        let c = try LlamaConfig(hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 3, numAttentionHeads: 4, vocabSize: 100)
        let moe = try MoEConfig(numLocalExperts: 4, numExpertsPerTok: 2)
        let full = FinetuneStage.flopsPerToken(c, moe, sequenceLength: 16)
        let frozenExperts = try FinetuneStage.frozenMatmulParameters(StageParams(["freeze_experts": true]), c, moe)
        XCTAssertEqual(frozenExperts, 3 * 2 * 3 * 64 * 128)  // layers × k × (gate, up, down)
        XCTAssertEqual(FinetuneStage.flopsPerToken(c, moe, sequenceLength: 16, frozen: frozenExperts), full - 2 * Double(frozenExperts))
        let routerOnly = try FinetuneStage.frozenMatmulParameters(StageParams(["train": "router"]), c, moe)
        XCTAssertEqual(routerOnly, MoEParameters.activeMatmulParameterCount(c, moe) - 3 * 4 * 64)
        XCTAssertEqual(try FinetuneStage.frozenMatmulParameters(StageParams(), c, moe), 0)
    }

    func testUpcycleCopiesTheSeedsFeedForwardByReference() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let seed = try StageFixtures.seedModel(store)
        let up = try UpcycleStage().run(StageFixtures.context(store, params: ["experts": 3], inputs: ["seed": seed]))
        for e in 0..<3 { XCTAssertEqual(up.tensors[MoEParameters.expert(1, e, "w1")], seed.tensors["model.layers.1.mlp.gate_proj.weight"]) }
        XCTAssertEqual(up.tensors["model.embed_tokens.weight"], seed.tensors["model.embed_tokens.weight"])
    }

    /// The MoE stages in a pipeline: a second run computes nothing and gives the same outputs.
    func testMoEStagesAreCachedOnRerun() throws {
        let text = """
        name: moe
        stages:
          init: {kind: init, params: {config: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 64, max_position_embeddings: 64}, seed: 1}}
          tokens:
            foreach: [{name: a, pattern: [1, 2, 3]}, {name: b, pattern: [7, 8]}]
            kind: fixture-tokens
            params: {domain: "${item.name}", pattern: "${item.pattern}"}
          expert:
            foreach: [a, b]
            kind: train
            params: {steps: 2, batch_size: 2, sequence_length: 16, warmup_steps: 1}
            inputs: {model: init, data: "tokens[${item}]"}
          mix: {kind: mix, inputs: {experts: "expert[*]", seed: init}}
          mix-blend: {kind: mix, params: {blend: 2}, inputs: {experts: "expert[*]", seed: init}}
          finetune:
            kind: finetune
            params: {steps: 2, batch_size: 2, sequence_length: 16, warmup_steps: 1, load_tokens: 32}
            inputs: {model: mix, data: "tokens[*]"}
          upcycle: {kind: upcycle, params: {experts: 2}, inputs: {seed: init}}
          upcycled:
            kind: finetune
            params: {steps: 1, batch_size: 2, sequence_length: 16, warmup_steps: 1, load_tokens: 32}
            inputs: {model: upcycle, data: "tokens[*]", match: finetune}
          btm: {kind: btm, inputs: {experts: "expert[*]"}}
          evaluate-btm:
            kind: evaluate
            params: {name: btm, role: btm, btm_weighting: tfidf, batch_size: 2, sequence_length: 16, max_batches: 1}
            inputs: {experts: "expert[*]", data: "tokens[*]"}
        """
        let registry = StageRegistry([InitStage.self, TrainStage.self, FixtureTokensStage.self, MixStage.self,
                                      FinetuneStage.self, UpcycleStage.self, BTMStage.self, EvaluateStage.self])
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        func run() throws -> [String: StageOutcome] {
            let spec = try PipelineSpec.parse(text, file: "moe.yaml", registry: registry)
            let runner = try Runner(spec: spec, registry: registry, store: store, options: RunOptions(), observer: SilentObserver())
            return Dictionary(uniqueKeysWithValues: try runner.run().map { ($0.stage, $0.outcome) })
        }
        let first = try run(), second = try run()
        for stage in ["mix", "mix-blend", "finetune", "upcycle", "upcycled", "btm", "evaluate-btm"] {
            guard case .ran(let output, _)? = first[stage] else { return XCTFail("\(stage): \(String(describing: first[stage]))") }
            guard case .cached(let again)? = second[stage] else { return XCTFail("\(stage) not cached: \(String(describing: second[stage]))") }
            XCTAssertEqual(output, again, stage)
        }
    }
}
