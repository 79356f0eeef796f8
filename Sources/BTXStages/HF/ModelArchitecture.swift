import BTXModel
import BTXStore

/// A model's architecture as btxpipe stores it in a model manifest's metadata: the dense Llama config
/// (HF keys, under "config") and, for a mixture of experts, the Mixtral-style expert settings (under
/// "moe"). Tensors use the HF Llama / Mixtral names, so the manifest maps one to one onto a checkpoint.
public struct ModelArchitecture: Equatable, Sendable {
    /// The dense part (for an MoE: everything but the feed-forward blocks; `intermediate_size` is
    /// each expert's width).
    public var llama: LlamaConfig
    /// The experts, or nil for a dense model.
    public var experts: ExpertSettings?

    /// A dense or MoE architecture.
    public init(llama: LlamaConfig, experts: ExpertSettings? = nil) {
        self.llama = llama
        self.experts = experts
    }

    /// Mixtral's expert keys plus btxpipe's routing kind.
    public struct ExpertSettings: Equatable, Sendable {
        /// E: experts per layer (`num_local_experts`).
        public var count: Int
        /// K: experts each token is sent to (`num_experts_per_tok`).
        public var topK: Int
        /// α of the load-balancing loss (`router_aux_loss_coef`; Mixtral's default 0.02, BTX's 0.01).
        public var auxLossCoefficient: Double
        /// "top_k" (what Mixtral computes), or a variant Mixtral cannot express ("switch",
        /// "sample_top1", "soft").
        public var routing: String

        /// Settings with Mixtral's meaning; `routing` defaults to plain top-k.
        public init(count: Int, topK: Int, auxLossCoefficient: Double = 0.01, routing: String = "top_k") {
            self.count = count
            self.topK = topK
            self.auxLossCoefficient = auxLossCoefficient
            self.routing = routing
        }
    }

    /// Every tensor name and shape of this architecture, in layout order (Mixtral names for experts).
    public var layout: [(name: String, shape: [Int])] {
        guard let experts else { return LlamaParameters.layout(llama) }
        let C = llama.hiddenSize, I = llama.intermediateSize
        return LlamaParameters.layout(llama) { l in
            var tensors = [(name: MixtralNames.gate(l), shape: [experts.count, C])]
            for e in 0..<experts.count {
                tensors += [(MixtralNames.expert(l, e, "w1"), [I, C]), (MixtralNames.expert(l, e, "w2"), [C, I]),
                            (MixtralNames.expert(l, e, "w3"), [I, C])]
            }
            return tensors
        }
    }

    // MARK: Manifest metadata

    /// The metadata entries describing this architecture ("config", and "moe" for experts).
    public func metadata() throws -> [String: JSONValue] {
        var out: [String: JSONValue] = ["config": try JSONValue(encoding: llama)]
        if let experts {
            out["moe"] = ["num_local_experts": .int(Int64(experts.count)), "num_experts_per_tok": .int(Int64(experts.topK)),
                          "router_aux_loss_coef": .double(experts.auxLossCoefficient), "routing": .string(experts.routing)]
        }
        return out
    }

    /// Reads the architecture back from a model manifest's metadata.
    public init(metadata: [String: JSONValue]) throws {
        guard let config = metadata["config"] else { throw HFError.notAModel("manifest metadata has no \"config\"") }
        do { llama = try config.decode(LlamaConfig.self) } catch { throw HFError.notAModel("metadata \"config\": \(error)") }
        guard let moe = metadata["moe"] else { experts = nil; return }
        guard let count = moe["num_local_experts"]?.intValue, count > 0,
              let topK = moe["num_experts_per_tok"]?.intValue, (1...count).contains(topK) else {
            throw HFError.notAModel("metadata \"moe\" needs num_local_experts > 0 and 1 ≤ num_experts_per_tok ≤ num_local_experts")
        }
        experts = ExpertSettings(count: count, topK: topK,
                                 auxLossCoefficient: moe["router_aux_loss_coef"]?.doubleValue ?? 0.01,
                                 routing: moe["routing"]?.stringValue ?? "top_k")
    }
}
