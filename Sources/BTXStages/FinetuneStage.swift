import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// `finetune` (BTX step 5): trains a mixture-of-experts `model` (from `mix` or `upcycle`) on the
/// `data` mixture (`weights`) so that the routers learn token-level routing. The routing and LB α
/// default to the model's config and may be overridden (`MoEManifest.routing`); `train: router`
/// trains the routers only, `freeze_experts: true` everything but the experts.
///
/// Shares `TrainingLoop` with the dense `train` stage: same parameters, checkpoints every
/// `checkpoint_every` steps and on Ctrl-C, bitwise-identical resume. Afterwards it measures the
/// per-layer expert load per domain on `load_tokens` validation tokens of each domain and records it
/// as the metric `expert_load` (`[layer][domain][expert]` fractions) and in the manifest.
/// With a `match` input (a model, e.g. the finetuned BTX), `steps` is replaced by the number that
/// matches that model's total training FLOPs or tokens (`match_by`).
struct FinetuneStage: StageKind {
    static let name = "finetune"
    static let version = 3  // 3: a matched run keeps its warmup_steps; 2: metrics.jsonl output; carries the model's tokenizer, refuses data of another
    static let summary = "MoE finetune on the domain mixture: routers learn to route (checkpointed, resumable)"

    func validate(_ params: StageParams) throws {
        try TrainingLoop.validate(params)
        _ = try MoEManifest.routing(params, experts: 1024)
        _ = try params.string("train", default: "all", oneOf: ["all", "router"])
        _ = try params.bool("freeze_experts", default: false)
        _ = try params.int("noise_seed", default: 0, in: 0...Int.max)
        _ = try params.int("load_tokens", default: 1024, in: 0...10_000_000)
        _ = try params.string("match_by", default: "flops", oneOf: ["flops", "tokens"])
    }

    func run(_ context: StageContext) throws -> Manifest {
        let input = try context.input("model")
        try ModelTokenizer.checkSame(context, inputs: ["model", "data"])
        let configJSON = try ModelManifest.configJSON(input, input: "model")
        let config = try ModelManifest.llamaConfig(input, input: "model")
        guard let base = try MoEManifest.moeConfig(configJSON, input: "model") else {
            throw StageError.failed("input 'model' is a dense model; finetune needs a mixture of experts (from mix or upcycle)")
        }
        let moe = try MoEManifest.routing(context.params, experts: base.numLocalExperts, base: base)
        let parameters = try ModelManifest.parameters(input, layout: MoEParameters.layout(config, moe), store: context.store,
                                                      input: "model")
        var hyper = try TrainingLoop.hyperparameters(context.params)
        let flopsPerToken = Self.flopsPerToken(config, moe, sequenceLength: hyper.sequenceLength,
                                               frozen: try Self.frozenMatmulParameters(context.params, config, moe))
        if let match = context.inputs["match"] {
            hyper.steps = try Self.matchedSteps(context, match: match, own: try ModelManifest.history(input),
                                                hyper: hyper, flopsPerToken: flopsPerToken)
            hyper.warmupSteps = try TrainingLoop.warmupSteps(context.params, steps: hyper.steps)
        }
        let runtime = MoERuntime(moe: moe, layers: config.numHiddenLayers, hiddenSize: config.hiddenSize,
                                 rows: hyper.batchSize * hyper.sequenceLength, training: true,
                                 noiseSeed: UInt64(try context.params.int("noise_seed", default: 0)))
        // Frozen tensors get no gradient at all (their weight-gradient products are skipped) and no update.
        let model = try MoEParameters.model(config, runtime: runtime, parameters: parameters, batchSize: hyper.batchSize,
                                            sequenceLength: hyper.sequenceLength, threads: context.threads,
                                            frozen: try Self.frozen(context.params, parameters: parameters),
                                            recomputeActivations: try TrainingLoop.recomputesActivations(context.params))
        let trainer = try Trainer(model: model, hyper: hyper)
        var loop = TrainingLoop(context: context, trainer: trainer, sampler: try TrainingLoop.sampler(context, hyper: hyper),
                                checkpointEvery: try context.params.int("checkpoint_every", default: 50),
                                flopsPerToken: flopsPerToken)
        loop.beforeStep = { runtime.step = $0 }
        let run = try loop.run()
        let load = try ExpertLoad.measure(context, config: config, moe: moe, parameters: parameters,
                                          tokens: try context.params.int("load_tokens", default: 1024))
        context.metric("expert_load", load)
        var history = try ModelManifest.history(input)
        history.runs.append(run)
        let json = try MoEManifest.configJSON(llama: configJSON, moe: moe, expertWidth: config.intermediateSize)
        var manifest = ModelTokenizer.carrying(try ModelManifest.make(config: json, parameters: parameters, history: history,
                                                                      store: context.store, extra: ["expert_load": load]),
                                               from: input)
        manifest.objects[MetricsFile.objectName] = run.metrics
        return manifest
    }

    /// Steps that bring this model's lineage to the `match` model's total training FLOPs (or
    /// tokens, `match_by: tokens`): how sparse upcycling is compute-matched to BTX. At least 1.
    static func matchedSteps(_ context: StageContext, match: Manifest, own: TrainingHistory,
                             hyper: TrainingHyperparameters, flopsPerToken: Double) throws -> Int {
        let target = try ModelManifest.history(match)
        let tokensPerStep = Double(hyper.gradientAccumulation * hyper.batchSize * hyper.sequenceLength)
        let byTokens = try context.params.string("match_by", default: "flops") == "tokens"
        let missing = byTokens ? Double(target.tokens - own.tokens) : target.flops - own.flops
        let steps = max(1, Int((missing / (byTokens ? tokensPerStep : tokensPerStep * flopsPerToken)).rounded()))
        context.log(String(format: "matched to input 'match' by %@: %d steps (%.3g to go)", byTokens ? "tokens" : "FLOPs",
                           steps, missing))
        return steps
    }

    /// The tensors the optimizer leaves alone.
    static func frozen(_ p: StageParams, parameters: ParameterSet) throws -> Set<String> {
        if try p.string("train", default: "all") == "router" {
            return Set(parameters.entries.map(\.name).filter { !$0.hasSuffix("block_sparse_moe.gate.weight") })
        }
        if try p.bool("freeze_experts", default: false) {
            return Set(parameters.entries.map(\.name).filter { $0.contains("block_sparse_moe.experts.") })
        }
        return []
    }

    /// Training FLOPs per token of an MoE: the dense count with each token's k expert FFNs and the
    /// routers (as `TrainingLoop.denseFlopsPerToken` for the rest), less the weight-gradient products
    /// (2 FLOPs per parameter and token) that `frozen` active matmul parameters skip: frozen weights are
    /// charged what they compute, forward and input gradient.
    static func flopsPerToken(_ c: LlamaConfig, _ moe: MoEConfig, sequenceLength T: Int, frozen: Int = 0) -> Double {
        TrainingLoop.denseFlopsPerToken(c, sequenceLength: T)
            + 6 * Double(MoEParameters.activeMatmulParameterCount(c, moe) - LlamaParameters.matmulParameterCount(c))
            - 2 * Double(frozen)
    }

    /// The matmul parameters a token passes through whose weight gradient is skipped (see `frozen`):
    /// its k experts' FFNs with `freeze_experts`, everything but the routers with `train: router`.
    static func frozenMatmulParameters(_ p: StageParams, _ c: LlamaConfig, _ moe: MoEConfig) throws -> Int {
        let routers = c.numHiddenLayers * moe.numLocalExperts * c.hiddenSize
        if try p.string("train", default: "all") == "router" { return MoEParameters.activeMatmulParameterCount(c, moe) - routers }
        guard try p.bool("freeze_experts", default: false) else { return 0 }
        let ffn = 3 * c.hiddenSize * c.intermediateSize
        return (0..<c.numHiddenLayers).reduce(0) { $0 + moe.slots(layer: $1) * ffn }
    }
}
