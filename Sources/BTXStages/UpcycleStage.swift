import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// `upcycle` (sparse upcycling, Komatsuzaki et al. 2023; BTX's main baseline): a mixture of
/// `experts` copies of the `seed`'s feed-forward block (by reference: the seed's own objects) with
/// fresh routers (`router_init` random or zero), everything else the seed's. Then `finetune` it with
/// the same compute as BTX (give `finetune` the BTX model as its `match` input).
struct UpcycleStage: StageKind {
    static let name = "upcycle"
    static let version = 2  // 2: carries the seed's tokenizer
    static let summary = "sparse upcycling: an MoE from copies of the seed's feed-forward blocks"

    func validate(_ params: StageParams) throws {
        _ = try params.int("experts", in: 1...1024)
        _ = try MoEManifest.routing(params, experts: 1024)
        _ = try params.string("router_init", default: "random", oneOf: ["random", "zero"])
        _ = try params.double("router_std", default: 0.02, in: 0...10)
        _ = try params.int("router_seed", default: 0, in: 0...Int.max)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let seed = try context.input("seed")
        let config = try ModelManifest.llamaConfig(seed, input: "seed")
        let n = try context.params.int("experts")
        let moe = try MoEManifest.routing(context.params, experts: n)
        let copies = [Manifest](repeating: seed, count: n)
        try MixStage.checkSameArchitecture([seed], names: ["seed"], config: config)
        var tensors: [String: TensorEntry] = [:]
        try MixStage.average(copies, weights: MoEMerge.normalizedWeights(nil, count: n), config: config,
                             store: context.store, into: &tensors)
        try MixStage.experts(copies, layout: .whole, config: config, store: context.store, into: &tensors)
        try MixStage().routers(context, models: copies, config: config, layout: .whole, into: &tensors)
        context.log("upcycled the seed into \(n) experts per layer (\(moe.routing.rawValue), k = \(moe.numExpertsPerTok))")
        let json = try MoEManifest.configJSON(llama: try ModelManifest.configJSON(seed, input: "seed"), moe: moe,
                                              expertWidth: config.intermediateSize)
        return ModelTokenizer.carrying(Manifest(kind: ModelManifest.kind, tensors: tensors,
                                                metadata: ["config": json, "history": try ModelManifest.history(seed).json()]),
                                       from: seed)
    }
}
