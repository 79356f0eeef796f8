import BTXModel
import BTXStore
import Foundation

/// A model manifest loaded for computation: its architecture and its weights as f32 (bf16 and f16
/// tensors converted exactly), one tensor at a time straight into the parameter storage.
public struct ModelWeights {
    /// The architecture from the manifest's metadata.
    public let architecture: ModelArchitecture
    /// Every tensor of `architecture.layout`, as f32.
    public let parameters: ParameterSet

    /// Loads `manifest` from `store`; throws naming the first missing or mis-shaped tensor.
    public init(_ manifest: Manifest, store: Store) throws {
        architecture = try ModelArchitecture(metadata: manifest.metadata)
        parameters = ParameterSet(layout: architecture.layout)
        for e in parameters.entries {
            guard let entry = manifest.tensors[e.name] else { throw HFError.notAModel("missing tensor \(e.name)") }
            guard entry.shape == e.shape, entry.dtype.isFloat else {
                throw HFError.notAModel("tensor \(e.name) is \(entry.dtype.rawValue)\(entry.shape), expected a float tensor of shape \(e.shape)")
            }
            let destination = UnsafeMutableBufferPointer(start: parameters.storage + e.offset, count: e.count)
            if entry.dtype == .f32 {
                try store.readTensor(entry, into: UnsafeMutableRawBufferPointer(destination))
            } else {
                _ = destination.update(from: try store.floats(entry))
            }
        }
    }

    /// Builds each block's feed-forward layer: nil (dense SwiGLU) for Llama, Mixtral's top-K MoE
    /// otherwise (inference only).
    public var feedForward: FeedForwardFactory? {
        guard let experts = architecture.experts else { return nil }
        return { l, context in MixtralFeedForward(layer: l, experts: experts.count, topK: experts.topK, context: context) }
    }

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
