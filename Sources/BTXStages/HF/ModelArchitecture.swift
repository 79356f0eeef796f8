import BTXModel
import BTXStore

/// A model's architecture as a model manifest holds it (`ModelManifest`, `MoEManifest`): the dense
/// Llama config and, for a mixture of experts, the Mixtral keys plus btxpipe's routing (`MoEConfig`),
/// together in `metadata["config"]`. Tensors use the HF Llama / Mixtral names, so a manifest maps one
/// to one onto a checkpoint.
public struct ModelArchitecture: Equatable, Sendable {
    /// The dense part (for an MoE, `intermediate_size` is each expert's width).
    public var llama: LlamaConfig
    /// The experts, or nil for a dense model.
    public var moe: MoEConfig?

    /// A dense or MoE architecture.
    public init(llama: LlamaConfig, moe: MoEConfig? = nil) {
        self.llama = llama
        self.moe = moe
    }

    /// The architecture of a model manifest.
    public init(_ manifest: Manifest) throws {
        llama = try ModelManifest.llamaConfig(manifest, input: "model")
        moe = try MoEManifest.moeConfig(try ModelManifest.configJSON(manifest, input: "model"), input: "model")
    }

    /// Every tensor name and shape of this architecture, in layout order.
    public var layout: [(name: String, shape: [Int])] {
        moe.map { MoEParameters.layout(llama, $0) } ?? LlamaParameters.layout(llama)
    }

    /// The `metadata["config"]` object of a model manifest with this architecture.
    public func configJSON() throws -> JSONValue {
        let dense = try JSONValue(encoding: llama)
        guard let moe else { return dense }
        return try MoEManifest.configJSON(llama: dense, moe: moe, expertWidth: llama.intermediateSize)
    }

    /// One line: "MixtralForCausalLM L=2 C=32 H=4/2 I=48 V=128 E=4 K=2".
    public var summary: String {
        let c = llama
        let dense = "L=\(c.numHiddenLayers) C=\(c.hiddenSize) H=\(c.numAttentionHeads)/\(c.numKeyValueHeads) I=\(c.intermediateSize) V=\(c.vocabSize)\(c.tieWordEmbeddings ? " tied" : "")"
        guard let moe else { return "LlamaForCausalLM " + dense }
        return "MixtralForCausalLM \(dense) E=\(moe.numLocalExperts) K=\(moe.numExpertsPerTok) \(moe.routing.rawValue)"
    }
}
