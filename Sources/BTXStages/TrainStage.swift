import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// `train`: dense training of the input `model` on the `data` inputs (tokens manifests, mixed by
/// `weights`) → the trained model, its history extended by this run.
///
/// Seed pretraining, each expert's domain training (BTX step 3, a `foreach` over domains) and the
/// compute-matched dense baseline (with a `match` input: `steps` becomes the number that brings the
/// lineage to that model's training FLOPs, or tokens with `match_by: tokens`) are all this kind. Checkpoints every `checkpoint_every` steps and
/// on Ctrl-C; a rerun resumes and ends bitwise equal to an uninterrupted run (`TrainingLoop`).
struct TrainStage: StageKind {
    static let name = "train"
    static let version = 3  // 3: a matched run keeps its warmup_steps; 2: metrics.jsonl output; carries the model's tokenizer, refuses data of another
    static let summary = "dense training of a model on token data (checkpointed, resumable)"

    func validate(_ params: StageParams) throws {
        try TrainingLoop.validate(params)
        _ = try params.string("match_by", default: "flops", oneOf: ["flops", "tokens"])
    }

    func run(_ context: StageContext) throws -> Manifest {
        let input = try context.input("model")
        try ModelTokenizer.checkSame(context, inputs: ["model", "data"])
        let config = try ModelManifest.llamaConfig(input, input: "model")
        let parameters = try ModelManifest.parameters(input, layout: LlamaParameters.layout(config),
                                                      store: context.store, input: "model")
        var hyper = try TrainingLoop.hyperparameters(context.params)
        let flopsPerToken = TrainingLoop.denseFlopsPerToken(config, sequenceLength: hyper.sequenceLength)
        if let match = context.inputs["match"] {
            hyper.steps = try FinetuneStage.matchedSteps(context, match: match, own: try ModelManifest.history(input),
                                                         hyper: hyper, flopsPerToken: flopsPerToken)
            hyper.warmupSteps = try TrainingLoop.warmupSteps(context.params, steps: hyper.steps)
        }
        let model = try LlamaModel(config: config, parameters: parameters, batchSize: hyper.batchSize,
                                   sequenceLength: hyper.sequenceLength, training: true, threads: context.threads,
                                   recomputeActivations: try TrainingLoop.recomputesActivations(context.params))
        let loop = TrainingLoop(context: context, trainer: try Trainer(model: model, hyper: hyper),
                                sampler: try TrainingLoop.sampler(context, hyper: hyper),
                                checkpointEvery: try context.params.int("checkpoint_every", default: 50),
                                flopsPerToken: flopsPerToken)
        let run = try loop.run()
        var history = try ModelManifest.history(input)
        history.runs.append(run)
        var manifest = ModelTokenizer.carrying(try ModelManifest.make(config: try ModelManifest.configJSON(input, input: "model"),
                                                                      parameters: parameters, history: history, store: context.store),
                                               from: input)
        manifest.objects[MetricsFile.objectName] = run.metrics
        return manifest
    }
}
