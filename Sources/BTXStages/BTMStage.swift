import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// `btm` (Branch-Train-Merge, Li et al. 2022) without router training: `mode: average` merges the
/// dense `experts` (+ `seed` when given) into one dense model by parameter averaging (uniform, or
/// `weights`). The other BTM variant, the per-sequence ensemble weighted by how well each expert
/// explains the context, needs no artifact of its own: it is `evaluate` with role `btm` and the
/// experts as its `experts` input (see `EnsembleModel`).
struct BTMStage: StageKind {
    static let name = "btm"
    static let version = 2  // 2: carries the experts' (shared) tokenizer
    static let summary = "Branch-Train-Merge: average expert models into one dense model"

    func validate(_ params: StageParams) throws {
        _ = try params.string("mode", default: "average", oneOf: ["average"])
        _ = try params.array("weights", default: [])
    }

    func run(_ context: StageContext) throws -> Manifest {
        let (models, names, config) = try MixStage.models(context)
        let weights = try MoEMerge.normalizedWeights(try MixStage.weights(context.params), count: models.count)
        var tensors: [String: TensorEntry] = [:]
        try MixStage.average(models, weights: weights, config: config, store: context.store, into: &tensors, feedForwardToo: true)
        context.log("averaged \(models.count) models")
        let merged = Manifest(kind: ModelManifest.kind, tensors: tensors,
                              metadata: ["config": try ModelManifest.configJSON(models[0], input: names[0]),
                                         "history": try TrainingHistory.merged(try models.map(ModelManifest.history)).json()])
        return ModelTokenizer.carrying(merged, from: models[0])
    }
}
