import BTXModel
import BTXStore
import Foundation

/// A model manifest loaded for computation: its architecture and its weights as f32 (bf16 and f16
/// tensors converted exactly).
public struct ModelWeights {
    /// The architecture from the manifest's metadata.
    public let architecture: ModelArchitecture
    /// Every tensor of `architecture.layout`, as f32.
    public let parameters: ParameterSet

    /// Loads `manifest` from `store`; throws naming the first missing or mis-shaped tensor.
    public init(_ manifest: Manifest, store: Store) throws {
        architecture = try ModelArchitecture(manifest)
        parameters = try ModelManifest.parameters(manifest, layout: architecture.layout, store: store, input: "model")
    }

    /// Builds each block's feed-forward layer: nil (dense SwiGLU) for Llama, the MoE layer otherwise.
    public var feedForward: FeedForwardFactory? { architecture.moe.map { MoEParameters.feedForward($0) } }

    /// Logits `[S, T, V]` of each sequence (all of one length T) run as one batch.
    public func logits(_ sequences: [[Int32]], threads: Int = 2) throws -> [Float] {
        guard let T = sequences.first?.count, T > 0, sequences.allSatisfy({ $0.count == T }) else {
            throw HFError.badRequest("sequences must be non-empty and of one length")
        }
        let model = try LlamaModel(config: architecture.llama, parameters: parameters, batchSize: sequences.count,
                                   sequenceLength: T, training: false, threads: threads, feedForward: feedForward)
        try model.forward(inputs: sequences.flatMap { $0 })
        return Array(model.logits)
    }
}
