import BTXTensor

/// What one decoder block keeps from its forward pass for its backward pass, `N = B·T` rows.
/// (The normalised inputs are recomputed from the residual stream and `rstd` instead of kept.)
final class BlockActivations {
    let residual: Buffer<Float>     // [N, C] block input (residual stream)
    let rstd1: Buffer<Float>        // [N]    input_layernorm 1/rms
    let qkv: Buffer<Float>          // [N, H·D + 2·KVH·D] q | k | v per row, q and k after RoPE
                                    // (k and v are the KV cache in generation)
    let attended: Buffer<Float>     // [N, H·D] attention output before o_proj
    let residualMid: Buffer<Float>  // [N, C] residual stream after attention
    let rstd2: Buffer<Float>        // [N]    post_attention_layernorm 1/rms
    let lse: Buffer<Float>          // [B, H, T] attention log-sum-exp per query row (training only)

    init(_ c: LlamaConfig, rows N: Int, training: Bool) {
        let C = c.hiddenSize, kv = c.numKeyValueHeads * c.headSize
        residual = Buffer(count: N * C)
        rstd1 = Buffer(count: N)
        qkv = Buffer(count: N * (C + 2 * kv))
        attended = Buffer(count: N * C)
        residualMid = Buffer(count: N * C)
        rstd2 = Buffer(count: N)
        lse = Buffer(count: training ? N * c.numAttentionHeads : 0)
    }

    /// A block that keeps only its own input (`residual`) and shares every other buffer with
    /// `shared`: with activation recomputation a block's forward pass is run again just before its
    /// backward pass, so one set of buffers serves all blocks.
    init(_ c: LlamaConfig, rows N: Int, sharing shared: BlockActivations) {
        residual = Buffer(count: N * c.hiddenSize)
        (rstd1, qkv, attended, residualMid, rstd2) = (shared.rstd1, shared.qkv, shared.attended, shared.residualMid, shared.rstd2)
        lse = shared.lse
    }

    /// One per block: each its own (`recompute` false), or sharing all but `residual` (true).
    static func perBlock(_ c: LlamaConfig, rows N: Int, training: Bool, recompute: Bool) -> [BlockActivations] {
        guard recompute else { return (0..<c.numHiddenLayers).map { _ in BlockActivations(c, rows: N, training: training) } }
        let first = BlockActivations(c, rows: N, training: training)
        return [first] + (1..<c.numHiddenLayers).map { _ in BlockActivations(c, rows: N, sharing: first) }
    }
}

/// Model-level buffers and scratch shared by all blocks (`N = B·T` rows).
final class ModelWorkspace {
    let inputs: Buffer<Int32>         // [N]
    let targets: Buffer<Int32>        // [N]
    let residualOut: Buffer<Float>    // [N, C] last block's output
    let normed: Buffer<Float>         // [N, C] scratch: any RMSNorm output
    let rstdFinal: Buffer<Float>      // [N]
    let logits: Buffer<Float>         // [N, V] logits, then probabilities (inference); training:
                                      // [chunk, V] one chunk's logits, then their gradient
    let losses: Buffer<Float>         // [N]
    let attention: AttentionScratch   // per-thread blocks of the fused attention
    // Backward only (empty for inference):
    let dresidual: Buffer<Float>      // [N, C] ∂L/∂residual stream
    let dnormed: Buffer<Float>        // [N, C] ∂L/∂(an RMSNorm output)
    let dattended: Buffer<Float>      // [N, H·D]
    let dqkv: Buffer<Float>           // [N, H·D + 2·KVH·D] dq | dk | dv per row

    init(_ c: LlamaConfig, batch B: Int, time T: Int, logitRows: Int, training: Bool, threads: Int) {
        let N = B * T, C = c.hiddenSize, kv = c.numKeyValueHeads * c.headSize
        let g = training ? 1 : 0  // backward buffers only when training
        inputs = Buffer(count: N)
        targets = Buffer(count: N)
        residualOut = Buffer(count: N * C)
        normed = Buffer(count: N * C)
        rstdFinal = Buffer(count: N)
        logits = Buffer(count: logitRows * c.vocabSize)
        losses = Buffer(count: N)
        attention = AttentionScratch(headSize: c.headSize, threads: threads)
        dresidual = Buffer(count: g * N * C)
        dnormed = Buffer(count: g * N * C)
        dattended = Buffer(count: g * N * C)
        dqkv = Buffer(count: g * N * (C + 2 * kv))
    }
}
