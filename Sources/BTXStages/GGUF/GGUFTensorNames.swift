/// llama.cpp's tensor names for the `llama` architecture (gguf-py `tensor_mapping.py`,
/// `MODEL_TENSOR` for LLM_ARCH_LLAMA) against the Hugging Face Llama / Mixtral names the store uses.
///
/// A Mixtral expert tensor has no one-to-one GGUF name: llama.cpp stacks the experts of a layer into
/// one 3-D tensor (`blk.N.ffn_gate_exps.weight`, shape [E, I, C] row-major), so those are mapped by
/// `stackedExperts`, not by `ggufName`.
enum GGUFTensorNames {
    /// Per-layer tensors: HF suffix after `model.layers.N.` → GGUF suffix after `blk.N.`.
    static let layerSuffixes: [(hf: String, gguf: String)] = [
        ("input_layernorm.weight", "attn_norm.weight"),
        ("self_attn.q_proj.weight", "attn_q.weight"),
        ("self_attn.k_proj.weight", "attn_k.weight"),
        ("self_attn.v_proj.weight", "attn_v.weight"),
        ("self_attn.o_proj.weight", "attn_output.weight"),
        ("post_attention_layernorm.weight", "ffn_norm.weight"),
        ("mlp.gate_proj.weight", "ffn_gate.weight"),
        ("mlp.up_proj.weight", "ffn_up.weight"),
        ("mlp.down_proj.weight", "ffn_down.weight"),
        ("block_sparse_moe.gate.weight", "ffn_gate_inp.weight"),
    ]

    /// Whole-model tensors.
    static let globals: [(hf: String, gguf: String)] = [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ]

    /// Mixtral expert weights: HF `wK` of each expert → the stacked GGUF tensor of the layer.
    static let stackedExperts: [(hf: String, gguf: String)] = [
        ("w1", "ffn_gate_exps.weight"),   // gate_proj [I, C] per expert
        ("w3", "ffn_up_exps.weight"),     // up_proj   [I, C]
        ("w2", "ffn_down_exps.weight"),   // down_proj [C, I]
    ]

    /// The GGUF name of a non-expert HF tensor, or nil when it has none.
    static func ggufName(_ hf: String) -> String? {
        if let g = globals.first(where: { $0.hf == hf }) { return g.gguf }
        guard let (layer, suffix) = splitLayer(hf, prefix: "model.layers.") else { return nil }
        return layerSuffixes.first { $0.hf == suffix }.map { "blk.\(layer).\($0.gguf)" }
    }

    /// The HF name of a non-stacked GGUF tensor, or nil when it has none.
    static func hfName(_ gguf: String) -> String? {
        if let g = globals.first(where: { $0.gguf == gguf }) { return g.hf }
        guard let (layer, suffix) = splitLayer(gguf, prefix: "blk.") else { return nil }
        return layerSuffixes.first { $0.gguf == suffix }.map { "model.layers.\(layer).\($0.hf)" }
    }

    /// ("3", "attn_q.weight") from "blk.3.attn_q.weight" with prefix "blk.".
    private static func splitLayer(_ name: String, prefix: String) -> (Int, String)? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return nil }
        return (layer, String(rest[rest.index(after: dot)...]))
    }
}

/// llama.cpp's row order for the Q and K projections. Its converter (convert_hf_to_gguf.py,
/// `LlamaModel.permute`) reorders each head's rows from HF's rotate-half RoPE layout to the
/// interleaved pairs ggml's RoPE expects:
/// `w.reshape(heads, 2, rows/heads/2, cols).swapaxes(1, 2).reshape(rows, cols)`.
enum LlamaRoPEPermutation {
    /// For each row of the GGUF tensor, the HF row it comes from (`heads` = attention heads for Q,
    /// key/value heads for K; `rows` must be a multiple of 2 × heads).
    static func ggufRowSources(rows: Int, heads: Int) -> [Int] {
        precondition(heads > 0 && rows % (2 * heads) == 0, "rows \(rows) not a multiple of 2 × \(heads) heads")
        let half = rows / heads / 2
        var sources = [Int](repeating: 0, count: rows)
        for h in 0..<heads {
            for i in 0..<half {
                for pair in 0..<2 {
                    // GGUF row (h, i, pair) ← HF row (h, pair, i).
                    sources[h * 2 * half + i * 2 + pair] = h * 2 * half + pair * half + i
                }
            }
        }
        return sources
    }

    /// HF → GGUF: permutes the rows of a row-major [rows, cols] matrix.
    static func toGGUF(_ hf: [Float], rows: Int, cols: Int, heads: Int) -> [Float] {
        let sources = ggufRowSources(rows: rows, heads: heads)
        var out = [Float](repeating: 0, count: hf.count)
        for (r, s) in sources.enumerated() { out[r * cols..<(r + 1) * cols] = hf[s * cols..<(s + 1) * cols] }
        return out
    }

    /// GGUF → HF: the inverse of `toGGUF`.
    static func toHF(_ gguf: [Float], rows: Int, cols: Int, heads: Int) -> [Float] {
        let sources = ggufRowSources(rows: rows, heads: heads)
        var out = [Float](repeating: 0, count: gguf.count)
        for (r, s) in sources.enumerated() { out[s * cols..<(s + 1) * cols] = gguf[r * cols..<(r + 1) * cols] }
        return out
    }
}
