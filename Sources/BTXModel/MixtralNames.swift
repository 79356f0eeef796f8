/// Mixtral's tensor names for the mixture-of-experts feed-forward block.
public enum MixtralNames {
    /// The router of layer `l`: `[E, C]`.
    public static func gate(_ l: Int) -> String { LlamaParameters.name(l, "block_sparse_moe.gate.weight") }
    /// Expert `e`'s `w1` (gate_proj), `w2` (down_proj) or `w3` (up_proj) of layer `l`.
    public static func expert(_ l: Int, _ e: Int, _ w: String) -> String {
        LlamaParameters.name(l, "block_sparse_moe.experts.\(e).\(w).weight")
    }
}
