import BTXTensor

/// Hugging Face Llama parameter names and shapes, and the seeded initialisation.
public enum LlamaParameters {
    /// Name of layer `l`'s tensor `suffix` (e.g. `"self_attn.q_proj.weight"`).
    public static func name(_ l: Int, _ suffix: String) -> String { "model.layers.\(l).\(suffix)" }

    /// The attention-side tensors of one block (everything but the feed-forward), in layout order.
    public static func attentionLayout(_ c: LlamaConfig, layer l: Int) -> [(name: String, shape: [Int])] {
        let C = c.hiddenSize, kv = c.numKeyValueHeads * c.headSize
        return [(name(l, "input_layernorm.weight"), [C]),
                (name(l, "self_attn.q_proj.weight"), [C, C]),
                (name(l, "self_attn.k_proj.weight"), [kv, C]),
                (name(l, "self_attn.v_proj.weight"), [kv, C]),
                (name(l, "self_attn.o_proj.weight"), [C, C]),
                (name(l, "post_attention_layernorm.weight"), [C])]
    }

    /// The dense SwiGLU feed-forward tensors of one block.
    public static func mlpLayout(_ c: LlamaConfig, layer l: Int) -> [(name: String, shape: [Int])] {
        let C = c.hiddenSize, I = c.intermediateSize
        return [(name(l, "mlp.gate_proj.weight"), [I, C]),
                (name(l, "mlp.up_proj.weight"), [I, C]),
                (name(l, "mlp.down_proj.weight"), [C, I])]
    }

    /// Every tensor of a dense Llama, in layout order; `feedForward` supplies each block's
    /// feed-forward tensors (the seam where a mixture of experts plugs in).
    public static func layout(_ c: LlamaConfig,
                              feedForward: ((Int) -> [(name: String, shape: [Int])])? = nil) -> [(name: String, shape: [Int])] {
        var layout: [(name: String, shape: [Int])] = [("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize])]
        for l in 0..<c.numHiddenLayers {
            layout += attentionLayout(c, layer: l)
            layout += feedForward?(l) ?? mlpLayout(c, layer: l)
        }
        layout.append(("model.norm.weight", [c.hiddenSize]))
        if !c.tieWordEmbeddings { layout.append(("lm_head.weight", [c.vocabSize, c.hiddenSize])) }
        return layout
    }

    /// HF-like initialisation from a seed: norm gains 1, every other tensor normal(0, `std`), drawn
    /// in layout order from one generator (so the result depends on the seed and layout only).
    public static func initialize(_ p: ParameterSet, seed: UInt64, std: Float = 0.02) {
        var rng = SplitMix64(seed: seed)
        for e in p.entries {
            let x = p.storage + e.offset
            if e.shape.count == 1 {
                x.update(repeating: 1, count: e.count)
            } else {
                for i in 0..<e.count { x[i] = std * Float(rng.nextNormal()) }
            }
        }
    }

    /// Number of weights that take part in matrix products per token (for FLOP counts): every
    /// matrix except the embedding table (a lookup), plus the LM head even when tied.
    public static func matmulParameterCount(_ c: LlamaConfig) -> Int {
        let C = c.hiddenSize, kv = c.numKeyValueHeads * c.headSize
        let perLayer = 2 * C * C + 2 * kv * C + 3 * C * c.intermediateSize
        return c.numHiddenLayers * perLayer + c.vocabSize * C
    }
}
