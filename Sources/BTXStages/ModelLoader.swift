import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// Builds runnable models from model manifests: dense Llama, or MoE when the config carries the
/// Mixtral keys (`num_local_experts`).
enum ModelLoader {
    /// An inference model for `batchSize × sequenceLength` batches.
    static func inference(_ manifest: Manifest, input: String, store: Store, batchSize: Int, sequenceLength: Int,
                          threads: Int) throws -> EvaluatedModel {
        let config = try ModelManifest.llamaConfig(manifest, input: input)
        let parameters = try ModelManifest.parameters(manifest, layout: LlamaParameters.layout(config), store: store, input: input)
        return try SingleModel(config: config, parameters: parameters, batchSize: batchSize, sequenceLength: sequenceLength,
                               threads: threads)
    }
}
