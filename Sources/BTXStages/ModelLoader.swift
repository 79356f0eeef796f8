import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// Builds runnable models from model manifests: dense Llama, or MoE when the config carries the
/// Mixtral keys (`num_local_experts`).
enum ModelLoader {
    /// An inference model for `batchSize × sequenceLength` batches.
    /// `domains`: how many domain labels routing statistics keep (MoE models).
    static func inference(_ manifest: Manifest, input: String, store: Store, batchSize: Int, sequenceLength: Int,
                          threads: Int, domains: Int = 1) throws -> EvaluatedModel {
        let config = try ModelManifest.llamaConfig(manifest, input: input)
        if let moe = try MoEManifest.moeConfig(try ModelManifest.configJSON(manifest, input: input), input: input) {
            let parameters = try ModelManifest.parameters(manifest, layout: MoEParameters.layout(config, moe), store: store,
                                                          input: input)
            return try MixtureModel(config: config, moe: moe, parameters: parameters, batchSize: batchSize,
                                    sequenceLength: sequenceLength, threads: threads, domains: domains)
        }
        let parameters = try ModelManifest.parameters(manifest, layout: LlamaParameters.layout(config), store: store, input: input)
        return try SingleModel(config: config, parameters: parameters, batchSize: batchSize, sequenceLength: sequenceLength,
                               threads: threads)
    }
}
