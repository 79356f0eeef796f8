import BTXModel
import BTXPipeline
@testable import BTXStages
import BTXStore
import BTXTensor
import Foundation

/// BTX models built in tests from the fixtures with the real stages.
enum HFTestModels {
    /// `count` expert models: copies of `dense` whose feed-forward tensors carry seeded noise of scale
    /// `perturbation` (as if each had trained on its own domain); everything else shared.
    static func experts(_ dense: Manifest, count: Int, perturbation: Float, store: Store) throws -> [Manifest] {
        var rng = SplitMix64(seed: 7)
        return try (0..<count).map { _ in
            var expert = dense
            for (name, entry) in dense.tensors.sorted(by: { $0.key < $1.key }) where name.contains(".mlp.") {
                let values = try store.floats(entry).map { $0 + perturbation * Float(rng.nextNormal()) }
                expert.tensors[name] = try store.putTensor(values, shape: entry.shape)
            }
            return expert
        }
    }

    /// BTX's MiX step through the real `mix` stage: `experts` (+ `seed` kept as one more expert),
    /// random routers of std 0.5 (so routing differs per token).
    static func mix(_ experts: [Manifest], seed: Manifest, routing: String = "top_k", k: Int = 2, store: Store) throws -> Manifest {
        let params: [String: JSONValue] = ["routing": .string(routing), "num_experts_per_tok": .int(Int64(k)),
                                           "router_std": 0.5, "router_seed": 1]
        var inputs = ["seed": seed]
        for (i, expert) in experts.enumerated() { inputs["experts.\(i)"] = expert }
        let context = StageContext(store: store, stage: "mix", key: .of(JSONValue.object(params).canonicalText),
                                   params: StageParams(params), inputs: inputs)
        return try MixStage().run(context)
    }

    /// A mixed MoE from the dense fixture `name`: `experts` perturbed experts plus the seed.
    static func btx(_ name: String, experts: Int, perturbation: Float, routing: String = "top_k", k: Int = 2,
                    store: Store) throws -> (dense: Manifest, moe: Manifest) {
        let dense = try HFImporter.importModel(HFFixtures.directory(name), into: store)
        let moe = try mix(try Self.experts(dense, count: experts, perturbation: perturbation, store: store), seed: dense,
                          routing: routing, k: k, store: store)
        return (dense, moe)
    }
}
