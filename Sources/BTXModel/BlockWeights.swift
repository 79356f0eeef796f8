/// Pointers to one block's attention-side weights and (when training) their gradients, looked up
/// once by name so that the hot loop never hashes a string. A frozen weight has no gradient pointer.
///
/// q_proj, k_proj and v_proj lie one after another in the storage (`LlamaParameters.layout`), so
/// `q` is also the fused `[H·D + 2·KVH·D, C]` weight of one q|k|v product (and `dq` its gradient).
struct BlockWeights {
    let inputNorm, q, k, v, o, postNorm: UnsafeMutablePointer<Float>
    let dInputNorm, dq, dk, dv, dO, dPostNorm: UnsafeMutablePointer<Float>?

    init(layer l: Int, parameters p: ParameterSet, gradients g: ParameterSet?, frozen: Set<String> = []) {
        func n(_ suffix: String) -> String { LlamaParameters.name(l, suffix) }
        let names = ["input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                     "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight"].map(n)
        let w = names.map(p.pointer), d = names.map { g?.gradientPointer($0, frozen: frozen) }
        (inputNorm, q, k, v, o, postNorm) = (w[0], w[1], w[2], w[3], w[4], w[5])
        (dInputNorm, dq, dk, dv, dO, dPostNorm) = (d[0], d[1], d[2], d[3], d[4], d[5])
    }

    /// Throws unless k_proj directly follows q_proj and v_proj k_proj (weights and gradients), as
    /// the fused q|k|v product needs.
    func checkFusedQKV(_ c: LlamaConfig, layer l: Int) throws {
        let C = c.hiddenSize, kv = c.numKeyValueHeads * c.headSize
        let adjacent = k == q + C * C && v == k + kv * C
        let gradients: Bool
        if let dq, let dk, let dv { gradients = dk == dq + C * C && dv == dk + kv * C } else { gradients = dq == nil && dk == nil && dv == nil }
        guard adjacent, gradients else {
            throw ModelError.badInput("layer \(l): q_proj, k_proj, v_proj must be adjacent in the parameter set (build it from LlamaParameters.layout) and frozen together or not at all")
        }
    }
}
