import BTXTensor

/// Mixtral parameter names and shapes for the mixture-of-experts blocks: a router
/// `block_sparse_moe.gate.weight [E, C]` and per expert `w1` (gate_proj) `[I, C]`, `w2` (down_proj)
/// `[C, I]`, `w3` (up_proj) `[I, C]`. Everything else is named as in Llama.
public enum MoEParameters {
    /// Name of layer `l`'s router.
    public static func router(_ l: Int) -> String { LlamaParameters.name(l, "block_sparse_moe.gate.weight") }

    /// Name of expert `e`'s weight `w` ("w1", "w2" or "w3") in layer `l`.
    public static func expert(_ l: Int, _ e: Int, _ w: String) -> String {
        LlamaParameters.name(l, "block_sparse_moe.experts.\(e).\(w).weight")
    }

    /// The dense MLP tensor that becomes Mixtral weight `w` when experts are mixed from dense models.
    public static let denseName = ["w1": "mlp.gate_proj.weight", "w2": "mlp.down_proj.weight", "w3": "mlp.up_proj.weight"]

    /// The MoE tensors of block `l`: router, then each expert's w1, w2, w3.
    public static func blockLayout(_ c: LlamaConfig, _ moe: MoEConfig, layer l: Int) -> [(name: String, shape: [Int])] {
        let C = c.hiddenSize, I = c.intermediateSize
        var layout: [(name: String, shape: [Int])] = [(router(l), [moe.numLocalExperts, C])]
        for e in 0..<moe.numLocalExperts {
            layout += [(expert(l, e, "w1"), [I, C]), (expert(l, e, "w2"), [C, I]), (expert(l, e, "w3"), [I, C])]
        }
        return layout
    }

    /// Every tensor of a Mixtral-style model, in layout order.
    public static func layout(_ c: LlamaConfig, _ moe: MoEConfig) -> [(name: String, shape: [Int])] {
        LlamaParameters.layout(c, feedForward: { blockLayout(c, moe, layer: $0) })
    }

    /// Number of weights in matrix products per token: the dense count with the FFN counted k
    /// times (the experts a token visits; E for soft routing) plus the router.
    public static func activeMatmulParameterCount(_ c: LlamaConfig, _ moe: MoEConfig) -> Int {
        let ffn = 3 * c.hiddenSize * c.intermediateSize
        var total = LlamaParameters.matmulParameterCount(c) - c.numHiddenLayers * ffn
        for l in 0..<c.numHiddenLayers { total += moe.slots(layer: l) * ffn + moe.numLocalExperts * c.hiddenSize }
        return total
    }

    /// A factory for `LlamaModel(feedForward:)` that makes every block a mixture of experts. Each
    /// model built with it gets its own `MoERuntime` (made at layer 0, sized for that model's rows);
    /// use `model(_:runtime:…)` instead to set the training step yourself.
    public static func feedForward(_ moe: MoEConfig, noiseSeed: UInt64 = 0,
                                   statistics: MoERoutingStatistics? = nil) -> FeedForwardFactory {
        var runtime: MoERuntime?
        return { l, context in
            let c = context.config
            if l == 0 || runtime == nil {
                runtime = MoERuntime(moe: moe, layers: c.numHiddenLayers, hiddenSize: c.hiddenSize, rows: context.maxRows,
                                     training: context.gradients != nil, noiseSeed: noiseSeed, statistics: statistics)
            }
            return MoEFeedForward(layer: l, runtime: runtime!, context: context)
        }
    }

    /// A `LlamaModel` whose feed-forward layers are mixtures of experts sharing `runtime`
    /// (built for the same rows, B·T, and the same training flag); `frozen` tensors get no gradient;
    /// `recomputeActivations` as `LlamaModel`'s.
    public static func model(_ c: LlamaConfig, runtime: MoERuntime, parameters: ParameterSet, batchSize: Int,
                             sequenceLength: Int, training: Bool = true, threads: Int = 2,
                             frozen: Set<String> = [], recomputeActivations: Bool = false) throws -> LlamaModel {
        for e in layout(c, runtime.moe) where parameters.entry(e.name)?.shape != e.shape {
            throw parameters.entry(e.name).map { ModelError.shapeMismatch(name: e.name, expected: e.shape, actual: $0.shape) }
                ?? ModelError.missingParameter(e.name)
        }
        return try LlamaModel(config: c, parameters: parameters, batchSize: batchSize, sequenceLength: sequenceLength,
                              training: training, threads: threads,
                              feedForward: { MoEFeedForward(layer: $0, runtime: runtime, context: $1) }, frozen: frozen,
                              recomputeActivations: recomputeActivations)
    }
}
