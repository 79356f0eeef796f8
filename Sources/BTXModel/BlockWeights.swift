/// Pointers to one block's attention-side weights and (when training) their gradients, looked up
/// once by name so that the hot loop never hashes a string. A frozen weight has no gradient pointer.
struct BlockWeights {
    let inputNorm, q, k, v, o, postNorm: UnsafeMutablePointer<Float>
    let dInputNorm, dq, dk, dv, dO, dPostNorm: UnsafeMutablePointer<Float>?

    init(layer l: Int, parameters p: ParameterSet, gradients g: ParameterSet?, frozen: Set<String> = []) {
        func n(_ suffix: String) -> String { LlamaParameters.name(l, suffix) }
        let names = ["input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                     "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight"].map(n)
        let w = names.map(p.pointer), d = names.map { frozen.contains($0) ? nil : g?.pointer($0) }
        (inputNorm, q, k, v, o, postNorm) = (w[0], w[1], w[2], w[3], w[4], w[5])
        (dInputNorm, dq, dk, dv, dO, dPostNorm) = (d[0], d[1], d[2], d[3], d[4], d[5])
    }
}
