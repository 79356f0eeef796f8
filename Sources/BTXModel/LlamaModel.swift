import BTXTensor

/// A Llama decoder (HF `LlamaForCausalLM`) with a hand-written backward pass, built for a fixed
/// batch `B` and sequence length `T` with every buffer allocated up front: a training step
/// allocates nothing.
///
/// Forward, per block (nanoGPT reading order):
///     x = x + o_proj(attention(rope(q_proj(rmsnorm(x))), rope(k_proj(…)), v_proj(…)))
///     x = x + feedForward(rmsnorm(x))
/// then `logits = lm_head(rmsnorm(x))` and the fused softmax + cross-entropy (in row chunks when
/// training: see `LlamaModel+Head.swift`).
public final class LlamaModel {
    /// The architecture.
    public let config: LlamaConfig
    /// The weights, by HF name (shared, not copied: several models may use one set).
    public let parameters: ParameterSet
    /// ∂loss/∂weights, accumulated by `backward`; nil for an inference-only model.
    public let gradients: ParameterSet?
    /// B and T this model's buffers are sized for.
    public let batchSize: Int, sequenceLength: Int
    /// Threads for every kernel, matrix products included: OpenBLAS runs single-threaded
    /// (`BLASRuntime.useCallerThreadOnly`) and each product is split over this many pool threads.
    public let threads: Int
    /// Tensors whose gradients `backward` does not compute (they stay zero): frozen weights.
    public let frozen: Set<String>
    /// Counts `backward`'s matrix products (tests prove frozen weights cost nothing with it).
    public let gemms = GEMMCounter()

    let rope: RoPETable
    let blocks: [BlockWeights]
    let feedForward: [FeedForwardLayer]
    let acts: [BlockActivations]
    let ws: ModelWorkspace
    let embedding, finalNorm, lmHead: UnsafeMutablePointer<Float>
    let dEmbedding, dFinalNorm, dLmHead: UnsafeMutablePointer<Float>?
    /// Attach a timer to get a per-phase time breakdown (benchmarks); nil costs nothing.
    public var timer: PhaseTimer?
    /// Rows per chunk of a training model's head and loss (0 for an inference model, whose head
    /// runs on all rows at once and keeps their logits).
    public let headChunkRows: Int
    /// Rows whose logits the last forward pass computed (B·T in training; the new tokens' rows, or the
    /// last of them alone, in generation).
    var lastRows = 0..<0
    /// Activation recomputation (HF's `gradient_checkpointing`): each block keeps only its input
    /// from the forward pass and runs its forward pass again just before its backward pass, so the
    /// blocks share one set of activation buffers. About one more forward pass of the blocks per
    /// step, for most of the activation memory; the gradients are bitwise the same.
    public let recomputesActivations: Bool

    /// Builds the model's buffers around `parameters` (laid out by `LlamaParameters.layout`).
    /// `feedForward` builds each block's feed-forward layer (dense SwiGLU by default). `frozen`
    /// tensors get no gradient: their weight-gradient products are skipped, while the input
    /// gradients still flow through them to the layers below. `headChunkRows` sets the rows per
    /// chunk of a training model's head and loss. `recomputeActivations` (training only) trades
    /// a forward pass for activation memory: see `recomputesActivations`.
    public init(config: LlamaConfig, parameters: ParameterSet, batchSize: Int, sequenceLength: Int,
                training: Bool = true, threads: Int = 2, feedForward: FeedForwardFactory? = nil,
                frozen: Set<String> = [], headChunkRows: Int = LlamaModel.defaultHeadChunkRows,
                recomputeActivations: Bool = false) throws {
        try config.validate()
        guard batchSize > 0, sequenceLength > 0, sequenceLength <= config.maxPositionEmbeddings else {
            throw ModelError.badInput("batch \(batchSize) × sequence \(sequenceLength) must be positive, sequence ≤ max_position_embeddings \(config.maxPositionEmbeddings)")
        }
        for e in LlamaParameters.layout(config, feedForward: { _ in [] }) where parameters.entry(e.name)?.shape != e.shape {
            throw parameters.entry(e.name).map { ModelError.shapeMismatch(name: e.name, expected: e.shape, actual: $0.shape) }
                ?? ModelError.missingParameter(e.name)
        }
        BLASRuntime.useCallerThreadOnly()
        self.config = config
        self.parameters = parameters
        let gradients = training ? parameters.zerosLike() : nil
        self.gradients = gradients
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.threads = max(1, threads)
        self.frozen = frozen
        let N = batchSize * sequenceLength
        guard headChunkRows > 0 else { throw ModelError.badInput("headChunkRows \(headChunkRows) must be positive") }
        self.headChunkRows = training ? min(N, headChunkRows) : 0
        rope = RoPETable(headSize: config.headSize, positions: sequenceLength, theta: config.ropeTheta)
        blocks = (0..<config.numHiddenLayers).map { BlockWeights(layer: $0, parameters: parameters, gradients: gradients, frozen: frozen) }
        for (l, w) in blocks.enumerated() { try w.checkFusedQKV(config, layer: l) }
        recomputesActivations = training && recomputeActivations
        acts = BlockActivations.perBlock(config, rows: N, training: training, recompute: recomputesActivations)
        ws = ModelWorkspace(config, batch: batchSize, time: sequenceLength, logitRows: training ? self.headChunkRows : N,
                            training: training, threads: self.threads)
        let context = FeedForwardContext(config: config, parameters: parameters, gradients: gradients, maxRows: N,
                                         scratch: FeedForwardScratch(rows: N, width: config.intermediateSize, training: training),
                                         threads: max(1, threads), frozen: frozen, gemms: gemms,
                                         kept: KeptActivations(shared: recomputesActivations))
        let factory = feedForward ?? { try DenseFeedForward(layer: $0, context: $1) }
        self.feedForward = try (0..<config.numHiddenLayers).map { try factory($0, context) }
        let head = config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight"
        embedding = parameters.pointer("model.embed_tokens.weight")
        finalNorm = parameters.pointer("model.norm.weight")
        lmHead = parameters.pointer(head)
        func gradient(_ name: String) -> UnsafeMutablePointer<Float>? { gradients?.gradientPointer(name, frozen: frozen) }
        dEmbedding = gradient("model.embed_tokens.weight")
        dFinalNorm = gradient("model.norm.weight")
        dLmHead = gradient(head)
    }

    /// Logits (or, after a forward pass with targets, probabilities) of the last forward pass, `[N, V]`.
    /// Inference models only: a training model keeps no logits.
    public var logits: UnsafeBufferPointer<Float> {
        precondition(ws.logits.count >= lastRows.upperBound * config.vocabSize,
                     "a training model keeps only one head chunk of logits: read logits from an inference model")
        return UnsafeBufferPointer(start: ws.logits.pointer + lastRows.lowerBound * config.vocabSize,
                            count: lastRows.count * config.vocabSize)
    }

    // MARK: Forward

    /// Forward pass on `B` sequences of `T + 1` tokens each (`[B, T+1]`): inputs are the first `T`
    /// tokens of a row, targets the last `T`. Returns the mean cross-entropy. An inference model
    /// leaves the probabilities in `logits`; a training model keeps none (its head runs in row
    /// chunks, see `chunkedHeadLoss`).
    public func forward(sequences: UnsafeBufferPointer<Int32>) throws -> Float {
        try loadSequences(sequences)
        let N = batchSize * sequenceLength
        run(batch: batchSize, start: 0, count: sequenceLength)
        return timer.measure(.lmHeadAndLoss) {
            gradients != nil ? chunkedHeadLoss(gradientScale: nil)
                : crossEntropyForward(ws.losses.pointer, ws.logits.pointer, ws.targets.pointer, N, config.vocabSize,
                                      threads: threads)
        }
    }

    /// Splits `[B, T+1]` token rows into `inputs` and `targets`, after checking them.
    func loadSequences(_ sequences: UnsafeBufferPointer<Int32>) throws {
        let B = batchSize, T = sequenceLength
        guard sequences.count == B * (T + 1) else {
            throw ModelError.badInput("expected \(B) × \(T + 1) = \(B * (T + 1)) tokens, got \(sequences.count)")
        }
        try checkTokens(sequences)
        for b in 0..<B {
            let row = sequences.baseAddress! + b * (T + 1)
            (ws.inputs.pointer + b * T).update(from: row, count: T)
            (ws.targets.pointer + b * T).update(from: row + 1, count: T)
        }
    }

    /// Sum of the feed-forward layers' own loss terms from the last forward pass (0 for a dense
    /// model; a mixture of experts' weighted load-balancing loss). Not included in the value that
    /// `forward(sequences:)` returns; `backward` differentiates both.
    public var auxiliaryLoss: Float { feedForward.reduce(0) { $0 + $1.auxiliaryLoss } }

    /// Inference forward pass on `[B, T]` tokens; leaves the logits in `logits`.
    public func forward(inputs: [Int32]) throws {
        guard inputs.count == batchSize * sequenceLength else {
            throw ModelError.badInput("expected \(batchSize) × \(sequenceLength) tokens, got \(inputs.count)")
        }
        try checkKeepsLogits()
        try inputs.withUnsafeBufferPointer { try checkTokens($0) }
        ws.inputs.pointer.update(from: inputs, count: inputs.count)
        run(batch: batchSize, start: 0, count: sequenceLength)
    }

    /// Cached forward pass for generation (batch 1): `tokens` at positions `start..<start+count`
    /// attend to the keys and values already computed for positions `0..<start`. Leaves the new
    /// rows' logits in `logits`; with `lastLogitsOnly`, the last row's alone (all sampling needs: the
    /// head is the largest product of a prompt's pass).
    public func forward(appending tokens: [Int32], at start: Int, lastLogitsOnly: Bool = false) throws {
        guard batchSize == 1, start >= 0, !tokens.isEmpty, start + tokens.count <= sequenceLength else {
            throw ModelError.badInput("cannot place \(tokens.count) tokens at position \(start) in a batch-1 context of \(sequenceLength)")
        }
        try checkKeepsLogits()
        try tokens.withUnsafeBufferPointer { try checkTokens($0, offset: start) }
        (ws.inputs.pointer + start).update(from: tokens, count: tokens.count)
        run(batch: 1, start: start, count: tokens.count, lastLogitsOnly: lastLogitsOnly)
    }

    /// Logits are kept by inference models only: a training model's head runs in row chunks.
    func checkKeepsLogits() throws {
        guard gradients == nil else {
            throw ModelError.badInput("a model built for training keeps no logits; build it with training: false")
        }
    }

    func checkTokens(_ tokens: UnsafeBufferPointer<Int32>, offset: Int = 0) throws {
        let V = config.vocabSize
        for (i, t) in tokens.enumerated() where t < 0 || Int(t) >= V {
            throw ModelError.tokenOutOfRange(token: Int(t), vocabularySize: V, position: offset + i)
        }
    }

    /// Runs embedding → blocks → final norm → LM head on rows `start..<start+count` of each batch
    /// row (`start > 0` only with B = 1); with `lastLogitsOnly`, the head on the last row alone.
    func run(batch B: Int, start: Int, count: Int, lastLogitsOnly: Bool = false) {
        let C = config.hiddenSize, rows = B * count, r0 = start  // first row (B = 1 when start > 0)
        let h0 = lastLogitsOnly ? r0 + rows - 1 : r0              // first row the head runs on
        lastRows = h0..<(r0 + rows)
        timer.measure(.embedding) {
            embeddingForward(acts[0].residual.pointer + r0 * C, ws.inputs.pointer + r0, embedding, rows, C)
        }
        for l in 0..<config.numHiddenLayers { blockForward(l, batch: B, start: start, count: count) }
        timer.measure(.norms) {
            rmsnormForward(ws.normed.pointer + r0 * C, ws.rstdFinal.pointer + r0, ws.residualOut.pointer + r0 * C,
                           finalNorm, rows, C, eps: Float(config.rmsNormEps), threads: threads)
        }
        // A training model's head runs in row chunks with its loss (`chunkedHeadLoss`).
        if gradients == nil {
            timer.measure(.lmHeadAndLoss) {
                matmulForward(ws.logits.pointer + h0 * config.vocabSize, ws.normed.pointer + h0 * C, lmHead,
                              lastRows.count, C, config.vocabSize, threads: threads)
            }
        }
    }

    /// Block `l` on rows `start..<start+count` of each batch row: its output is the next block's
    /// `residual` (the last block's, `residualOut`). With `replay`, the forward pass recomputed
    /// just before the block's backward pass (see `recomputesActivations`).
    func blockForward(_ l: Int, batch B: Int, start: Int, count: Int, replay: Bool = false) {
        let C = config.hiddenSize, rows = B * count, r0 = start
        let next = (l + 1 < acts.count ? acts[l + 1].residual.pointer : ws.residualOut.pointer) + r0 * C
        attentionBlockForward(l, batch: B, start: start, count: count)
        timer.measure(.norms) {
            next.update(from: acts[l].residualMid.pointer + r0 * C, count: rows * C)
            rmsnormForward(ws.normed.pointer + r0 * C, acts[l].rstd2.pointer + r0, acts[l].residualMid.pointer + r0 * C,
                           blocks[l].postNorm, rows, C, eps: Float(config.rmsNormEps), threads: threads)
        }
        timer.measure(.feedForward) {
            if replay {
                feedForward[l].replayForward(next, ws.normed.pointer + r0 * C, rows)
            } else {
                feedForward[l].forward(next, ws.normed.pointer + r0 * C, rows)
            }
        }
    }

    /// `residualMid = residual + o_proj(attention(…rmsnorm(residual)))` for block `l`.
    func attentionBlockForward(_ l: Int, batch B: Int, start: Int, count: Int) {
        let a = acts[l], w = blocks[l], c = config
        let C = c.hiddenSize, H = c.numAttentionHeads, KVH = c.numKeyValueHeads, D = c.headSize, kv = KVH * D
        let rows = B * count, r0 = start  // with B = 1 when start > 0, row r0 is position start
        let x = ws.normed.pointer + r0 * C
        timer.measure(.norms) {
            rmsnormForward(x, a.rstd1.pointer + r0, a.residual.pointer + r0 * C, w.inputNorm, rows, C,
                           eps: Float(c.rmsNormEps), threads: threads)
        }
        let S = C + 2 * kv, qkv = a.qkv.pointer  // row stride of the fused q | k | v
        timer.measure(.attentionProjections) { matmulForward(qkv + r0 * S, x, w.q, rows, C, S, threads: threads) }
        // q and k heads are adjacent in a row: one rotation pass covers both.
        timer.measure(.rope) {
            ropeForward(qkv + r0 * S, rope, B, count, H + KVH, D, start: start, stride: S, threads: threads)
        }
        // In generation (start > 0) the new queries attend to the whole cache 0..<start+count; only
        // training keeps the log-sum-exp (for backward).
        timer.measure(.attentionCore) {
            attentionForward(a.attended.pointer + r0 * C, gradients != nil ? a.lse.pointer : nil, qkv + r0 * S, qkv + C,
                             qkv + C + kv, B, count, start + count, H, KVH, D, qStride: S, kvStride: S,
                             scratch: ws.attention, threads: threads)
        }
        let mid = a.residualMid.pointer + r0 * C
        timer.measure(.attentionProjections) {
            mid.update(from: a.residual.pointer + r0 * C, count: rows * C)
            matmulForward(mid, a.attended.pointer + r0 * C, w.o, rows, C, C, accumulate: true, threads: threads)
        }
    }
}
