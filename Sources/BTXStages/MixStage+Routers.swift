import BTXModel
import BTXPipeline
import BTXStore
import Foundation

extension MixStage {
    /// One router per layer, `[experts, C]`, from `router_init`.
    func routers(_ context: StageContext, models: [Manifest], config: LlamaConfig, layout: MoEExpertLayout,
                 into tensors: inout [String: TensorEntry]) throws {
        let p = context.params, C = config.hiddenSize, E = layout.experts(models: models.count)
        let initialization: MoEMerge.RouterInit
        switch try p.string("router_init", default: "random") {
        case "zero": initialization = .zero
        case "hidden": initialization = .hidden(states: try hiddenStates(context, models: models, config: config, layout: layout))
        default:
            initialization = .random(std: Float(try p.double("router_std", default: 0.02)),
                                     seed: UInt64(try p.int("router_seed", default: 0)))
        }
        var rng = initialization.generator
        var router = [Float](repeating: 0, count: E * C)
        for l in 0..<config.numHiddenLayers {
            try router.withUnsafeMutableBufferPointer {
                try MoEMerge.initializeRouter($0.baseAddress!, layer: l, E: E, C: C, initialization, rng: &rng)
            }
            tensors[MoEParameters.router(l)] = try context.store.putTensor(router, shape: [E, C])
        }
    }

    /// `[L][E][C]`: for each model, its mean hidden state on its own domain (`data.m`, aligned with
    /// the experts; a `seed` with no data of its own gets the mean over all domains); an expert gets
    /// the mean over the models its pieces come from (one model, except for `blend`).
    func hiddenStates(_ context: StageContext, models: [Manifest], config: LlamaConfig,
                      layout: MoEExpertLayout) throws -> [[[Float]]] {
        let corpora = try TokenCorpus.inputs(context, name: "data")
        let hasSeed = context.inputs["seed"] != nil
        guard corpora.count == models.count || (hasSeed && corpora.count == models.count - 1) else {
            throw StageError.badParameter(field: "router_init", expected: "one 'data' input per expert (\(models.count) or, with a seed, \(models.count - 1))",
                                          actual: "\(corpora.count) data inputs")
        }
        let budget = try context.params.int("hidden_tokens", default: 2048)
        var perModel: [[[Float]]] = []  // [model][L][C]
        for (m, model) in models.enumerated() {
            let parameters = try ModelManifest.parameters(model, layout: LlamaParameters.layout(config), store: context.store,
                                                          input: "experts.\(m)")
            let domains = m < corpora.count ? [corpora[m]] : corpora
            let states = try domains.map { corpus in
                try HiddenStateProbe.meanHiddenStates(config: config, parameters: parameters,
                                                      tokens: corpus.train.prefix(budget).map { Int32(bitPattern: $0) },
                                                      window: 256, threads: context.threads)
            }
            perModel.append(MoEMerge.averageStates(states))
        }
        let experts = (0..<layout.experts(models: models.count)).map { e in
            MoEMerge.averageStates(layout.pieces(expert: e, models: models.count).map { perModel[$0.model] })
        }  // [E][L][C]
        return (0..<config.numHiddenLayers).map { l in experts.map { $0[l] } }
    }
}
