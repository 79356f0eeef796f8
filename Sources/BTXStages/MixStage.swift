import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// `mix` (BTX step 4, §2.2): N trained expert models (+ the `seed` as one more expert, the paper's
/// default, when that input is given) → one mixture-of-experts model.
///
/// Every expert's feed-forward weights become `block_sparse_moe.experts.M.w1/w2/w3` BY REFERENCE:
/// the new manifest's entries name the experts' own store objects, nothing is copied. Every other
/// tensor is the average of the experts' copies (uniform, or `weights`). Routers start `random`
/// (normal, `router_std`, `router_seed`), `zero`, or `hidden` (the mean hidden state each expert
/// sees on its own domain's `data`, as mergekit-moe's hidden-state gates). Ablations (§4.4, see
/// `MoEExpertLayout`; their experts are new tensors): `split: C` cuts each expert's FFN into C chunks
/// (N·C experts of width I/C); `blend: C` (0: off) cuts them the same way and makes expert j of chunk j of
/// every model (C experts of width N·I/C, none domain-specific; C = N keeps N experts of width I).
///
/// Params also set the routing the model is finetuned with (`MoEManifest.routing`).
struct MixStage: StageKind {
    static let name = "mix"
    static let version = 2  // 2: experts must share one tokenizer; the mixture carries it
    static let summary = "mix expert models into one mixture of experts (FFNs by reference, the rest averaged)"

    func validate(_ params: StageParams) throws {
        _ = try MoEManifest.routing(params, experts: 1024)
        _ = try params.string("router_init", default: "random", oneOf: ["random", "zero", "hidden"])
        _ = try params.double("router_std", default: 0.02, in: 0...10)
        _ = try params.int("router_seed", default: 0, in: 0...Int.max)
        _ = try params.array("weights", default: [])
        _ = try params.int("split", default: 1, in: 1...64)
        _ = try params.int("blend", default: 0, in: 0...1024)
        _ = try params.int("hidden_tokens", default: 2048, in: 16...10_000_000)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let (models, names, config) = try Self.models(context)
        let p = context.params
        let layout = try Self.layout(p, intermediateSize: config.intermediateSize)
        let moe = try MoEManifest.routing(p, experts: layout.experts(models: models.count))
        let weights = try MoEMerge.normalizedWeights(try Self.weights(p), count: models.count)
        var tensors: [String: TensorEntry] = [:]
        try Self.average(models, weights: weights, config: config, store: context.store, into: &tensors)
        try Self.experts(models, layout: layout, config: config, store: context.store, into: &tensors)
        try routers(context, models: models, config: config, layout: layout, into: &tensors)
        let histories = try models.map(ModelManifest.history)
        context.log("mixed \(models.count) models into \(moe.numLocalExperts) experts per layer (\(moe.routing.rawValue), k = \(moe.numExpertsPerTok))")
        let json = try MoEManifest.configJSON(llama: try ModelManifest.configJSON(models[0], input: names[0]), moe: moe,
                                              expertWidth: layout.width(intermediate: config.intermediateSize, models: models.count))
        return ModelTokenizer.carrying(Manifest(kind: ModelManifest.kind, tensors: tensors,
                                                metadata: ["config": json, "history": try TrainingHistory.merged(histories).json()]),
                                       from: models[0])
    }

    /// The `experts` inputs (+ `seed` last when given), their input names, and their shared
    /// architecture (checked).
    static func models(_ context: StageContext) throws -> (models: [Manifest], names: [String], config: LlamaConfig) {
        var models = context.inputList("experts")
        guard !models.isEmpty else { throw StageError.missingInput(name: "experts") }
        try ModelTokenizer.checkSame(context, inputs: ["experts", "seed", "data"])
        var names = models.indices.map { models.count == 1 ? "experts" : "experts.\($0)" }
        if let seed = context.inputs["seed"] { models.append(seed); names.append("seed") }
        let config = try ModelManifest.llamaConfig(models[0], input: names[0])
        try checkSameArchitecture(models, names: names, config: config)
        return (models, names, config)
    }

    /// The `weights` parameter as numbers (nil when empty: uniform).
    static func weights(_ p: StageParams) throws -> [Double]? {
        let values = try p.array("weights", default: [])
        if values.isEmpty { return nil }
        return try values.enumerated().map { i, v in
            guard let d = v.doubleValue else {
                throw StageError.badParameter(field: "weights[\(i)]", expected: "a number", actual: v.canonicalText)
            }
            return d
        }
    }

    /// Throws naming the first tensor (in layout order) where a model's dtype-free shape differs or
    /// the tensor is missing.
    static func checkSameArchitecture(_ models: [Manifest], names: [String], config: LlamaConfig) throws {
        for (m, name) in zip(models, names) {
            guard try ModelManifest.llamaConfig(m, input: name) == config else {
                throw StageError.failed("input '\(name)': its config differs from '\(names[0])' (all experts must share one architecture)")
            }
        }
        for e in LlamaParameters.layout(config) {
            for (m, name) in zip(models, names) {
                guard let t = m.tensors[e.name] else { throw StageError.failed("input '\(name)': model has no tensor \(e.name)") }
                guard t.shape == e.shape else {
                    throw StageError.failed("input '\(name)': tensor \(e.name) has shape \(t.shape), expected \(e.shape) as in '\(names[0])'")
                }
            }
        }
    }

    /// Every non-feed-forward tensor (every tensor with `feedForwardToo`): the weighted mean of the
    /// models' copies (the shared object itself when all copies are one object).
    static func average(_ models: [Manifest], weights: [Double], config: LlamaConfig, store: Store,
                        into tensors: inout [String: TensorEntry], feedForwardToo: Bool = false) throws {
        let ffn = feedForwardToo ? [] : Set((0..<config.numHiddenLayers).flatMap {
            LlamaParameters.mlpLayout(config, layer: $0).map(\.name)
        })
        for e in LlamaParameters.layout(config) where !ffn.contains(e.name) {
            let entries = models.map { $0.tensors[e.name]! }  // checked by checkSameArchitecture
            if Set(entries.map(\.object)).count == 1 && entries[0].dtype == .f32 {
                tensors[e.name] = entries[0]
                continue
            }
            let mean = MoEMerge.average(try entries.map { try store.floats($0) }, weights: weights)
            tensors[e.name] = try store.putTensor(mean, shape: e.shape)
        }
    }

    /// The expert layout from `split` / `blend` (exclusive), checked against the dense width.
    static func layout(_ p: StageParams, intermediateSize I: Int) throws -> MoEExpertLayout {
        let split = try p.int("split", default: 1), blend = try p.int("blend", default: 0)
        let (layout, field, chunks): (MoEExpertLayout, String, Int)
        switch (split, blend) {
        case (1, 0): return .whole
        case (_, 0): (layout, field, chunks) = (.split(chunks: split), "split", split)
        case (1, _): (layout, field, chunks) = (.blend(chunks: blend), "blend", blend)
        default: throw StageError.badParameter(field: "blend", expected: "no `split` with `blend` (one ablation at a time)", actual: "split \(split), blend \(blend)")
        }
        guard I % chunks == 0 else {
            throw StageError.badParameter(field: field, expected: "a divisor of intermediate_size \(I)", actual: "\(chunks)")
        }
        return layout
    }

    /// The experts of every layer: model m's `mlp.*` tensors by reference (`.whole`), or new tensors
    /// concatenating the chunks `layout` names (`MoEMerge.chunk`: `w1`/`w3` by rows, `w2` by columns).
    static func experts(_ models: [Manifest], layout: MoEExpertLayout, config: LlamaConfig, store: Store,
                        into tensors: inout [String: TensorEntry]) throws {
        let C = config.hiddenSize, I = config.intermediateSize, parts = layout.chunks
        let width = layout.width(intermediate: I, models: models.count)
        for l in 0..<config.numHiddenLayers {
            for (w, dense) in MoEParameters.denseName.sorted(by: { $0.key < $1.key }) {
                let sources = models.map { $0.tensors[LlamaParameters.name(l, dense)]! }  // checked by checkSameArchitecture
                var values: [Int: [Float]] = [:]  // model → its dense tensor, read once per layer and weight
                for e in 0..<layout.experts(models: models.count) {
                    let pieces = layout.pieces(expert: e, models: models.count)
                    if layout == .whole { tensors[MoEParameters.expert(l, e, w)] = sources[e]; continue }
                    let chunks = try pieces.map { piece -> [Float] in
                        if values[piece.model] == nil { values[piece.model] = try store.floats(sources[piece.model]) }
                        return MoEMerge.chunk(values[piece.model]!, rows: w == "w2" ? C : I, columns: w == "w2" ? I : C,
                                              part: piece.chunk, of: parts, alongColumns: w == "w2")
                    }
                    tensors[MoEParameters.expert(l, e, w)] =
                        try store.putTensor(MoEMerge.concatenate(chunks, rows: C, alongColumns: w == "w2"),
                                            shape: w == "w2" ? [C, width] : [width, C])
                }
            }
        }
    }
}
