/// A Llama architecture in Hugging Face `config.json` terms (`LlamaConfig`): the same keys, the same
/// meanings, validated while decoding so that a bad config fails at the boundary.
public struct LlamaConfig: Codable, Equatable, Sendable {
    /// C: width of the residual stream.
    public var hiddenSize: Int
    /// I: width of the SwiGLU feed-forward layer (≈ 8/3 · C, rounded, in Llama).
    public var intermediateSize: Int
    /// L: number of decoder blocks.
    public var numHiddenLayers: Int
    /// H: query heads; the head size is C / H.
    public var numAttentionHeads: Int
    /// KVH: key/value heads (grouped-query attention); HF defaults it to H (plain multi-head).
    public var numKeyValueHeads: Int
    /// V: vocabulary size.
    public var vocabSize: Int
    /// RoPE base θ (10 000 in Llama 1/2, 500 000 in Llama 3).
    public var ropeTheta: Double
    /// ε inside RMSNorm's square root (HF default 1e-6; Llama 2 uses 1e-5).
    public var rmsNormEps: Double
    /// Longest sequence the RoPE table covers.
    public var maxPositionEmbeddings: Int
    /// Share the embedding matrix with the LM head (no `lm_head.weight` then).
    public var tieWordEmbeddings: Bool

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case vocabSize = "vocab_size"
        case ropeTheta = "rope_theta"
        case rmsNormEps = "rms_norm_eps"
        case maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings"
        case modelType = "model_type"
    }

    /// A validated config; `numKeyValueHeads` defaults to `numAttentionHeads` as in HF.
    public init(hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                numKeyValueHeads: Int? = nil, vocabSize: Int, ropeTheta: Double = 10_000,
                rmsNormEps: Double = 1e-6, maxPositionEmbeddings: Int = 2048,
                tieWordEmbeddings: Bool = false) throws {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads ?? numAttentionHeads
        self.vocabSize = vocabSize
        self.ropeTheta = ropeTheta
        self.rmsNormEps = rmsNormEps
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        try validate()
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10_000
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode("llama", forKey: .modelType)
    }

    /// D: size of one attention head.
    public var headSize: Int { hiddenSize / numAttentionHeads }

    /// Throws `ModelError.invalidConfig` naming the first field that is out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ key: CodingKeys, _ reason: String) throws {
            if !ok { throw ModelError.invalidConfig(field: key.rawValue, reason: reason) }
        }
        for (value, key) in [(hiddenSize, CodingKeys.hiddenSize), (intermediateSize, .intermediateSize),
                             (numHiddenLayers, .numHiddenLayers), (numAttentionHeads, .numAttentionHeads),
                             (numKeyValueHeads, .numKeyValueHeads), (vocabSize, .vocabSize),
                             (maxPositionEmbeddings, .maxPositionEmbeddings)] {
            try check(value > 0, key, "must be positive, got \(value)")
        }
        try check(hiddenSize % numAttentionHeads == 0, .numAttentionHeads,
                  "\(numAttentionHeads) heads do not divide hidden_size \(hiddenSize)")
        try check(headSize % 2 == 0, .numAttentionHeads,
                  "head size \(headSize) (hidden_size / num_attention_heads) must be even for RoPE")
        try check(numAttentionHeads % numKeyValueHeads == 0, .numKeyValueHeads,
                  "\(numKeyValueHeads) key/value heads do not divide num_attention_heads \(numAttentionHeads)")
        try check(vocabSize <= Int(Int32.max), .vocabSize, "must fit in 32-bit token ids")
        try check(ropeTheta > 0 && ropeTheta.isFinite, .ropeTheta, "must be a positive number, got \(ropeTheta)")
        try check(rmsNormEps > 0 && rmsNormEps.isFinite, .rmsNormEps, "must be a positive number, got \(rmsNormEps)")
    }
}
