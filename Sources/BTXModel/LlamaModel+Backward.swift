import BTXTensor

extension LlamaModel {
    /// Adds `∂(lossScale · loss)/∂weights` to `gradients` for the last `forward(sequences:)`, where
    /// loss is the mean cross-entropy it returned plus `auxiliaryLoss` (`lossScale = 1/steps` for
    /// gradient accumulation). The head's logits are recomputed chunk by chunk (a training model
    /// keeps none): `forwardBackward` saves that product. Frozen tensors' gradients are not computed.
    public func backward(lossScale: Float = 1) {
        guard gradients != nil else {
            preconditionFailure("backward on a model built with training: false")
        }
        let N = batchSize * sequenceLength
        precondition(lastRows == 0..<N, "backward needs a preceding training forward pass")
        // The final norm's output is still in `normed` from the forward pass.
        _ = timer.measure(.lmHeadAndLoss) { chunkedHeadLoss(gradientScale: lossScale / Float(N)) }
        bodyBackward(lossScale: lossScale)
    }

    /// Backward from ∂L/∂(final norm output) in `dnormed` down to the embedding.
    func bodyBackward(lossScale: Float) {
        let N = batchSize * sequenceLength, C = config.hiddenSize
        timer.measure(.norms) {
            ws.dresidual.zero()
            rmsnormBackward(ws.dresidual.pointer, dFinalNorm, ws.dnormed.pointer, ws.residualOut.pointer, finalNorm,
                            ws.rstdFinal.pointer, N, C, threads: threads)
        }
        for l in (0..<config.numHiddenLayers).reversed() {
            // NOTE: the replay rewrites the next block's input with the values it already holds.
            if recomputesActivations { blockForward(l, batch: batchSize, start: 0, count: sequenceLength, replay: true) }
            feedForwardBlockBackward(l, lossScale: lossScale)
            attentionBlockBackward(l)
        }
        if let dEmbedding { timer.measure(.embedding) { embeddingBackward(dEmbedding, ws.dresidual.pointer, ws.inputs.pointer, N, C) } }
    }

    /// Sets every gradient to zero (call before the first micro-batch of a step).
    public func zeroGradients() { gradients?.zero() }

    /// Backward through `x = x + feedForward(rmsnorm(x))` of block `l`.
    func feedForwardBlockBackward(_ l: Int, lossScale: Float) {
        let a = acts[l], w = blocks[l], N = batchSize * sequenceLength, C = config.hiddenSize
        // Recompute the normalised input (cheaper than keeping it per block).
        timer.measure(.norms) {
            rmsnormForward(ws.normed.pointer, a.rstd2.pointer, a.residualMid.pointer, w.postNorm, N, C,
                           eps: Float(config.rmsNormEps), threads: threads)
        }
        timer.measure(.feedForward) {
            feedForward[l].backward(ws.dnormed.pointer, ws.dresidual.pointer, ws.normed.pointer, N, lossScale: lossScale)
        }
        timer.measure(.norms) {
            rmsnormBackward(ws.dresidual.pointer, w.dPostNorm, ws.dnormed.pointer, a.residualMid.pointer, w.postNorm,
                            a.rstd2.pointer, N, C, threads: threads)
        }
    }

    /// Backward through `x = x + o_proj(attention(rmsnorm(x)))` of block `l`.
    func attentionBlockBackward(_ l: Int) {
        let a = acts[l], w = blocks[l], c = config
        let B = batchSize, T = sequenceLength, N = B * T
        let C = c.hiddenSize, H = c.numAttentionHeads, KVH = c.numKeyValueHeads, D = c.headSize, kv = KVH * D
        let S = C + 2 * kv, qkv = a.qkv.pointer, dqkv = ws.dqkv.pointer  // fused q | k | v rows
        timer.measure(.attentionProjections) {
            gemms.matmulBackward(ws.dattended.pointer, w.dO, ws.dresidual.pointer, a.attended.pointer, w.o, N, C, C,
                                 threads: threads)
        }
        timer.measure(.attentionCore) {
            attentionBackward(dqkv, dqkv + C, dqkv + C + kv, ws.dattended.pointer, a.attended.pointer, a.lse.pointer,
                              qkv, qkv + C, qkv + C + kv, B, T, H, KVH, D, qStride: S, kvStride: S,
                              scratch: ws.attention, threads: threads)
        }
        timer.measure(.rope) { ropeBackward(dqkv, rope, B, T, H + KVH, D, stride: S, threads: threads) }
        timer.measure(.norms) {
            rmsnormForward(ws.normed.pointer, a.rstd1.pointer, a.residual.pointer, w.inputNorm, N, C,
                           eps: Float(c.rmsNormEps), threads: threads)
        }
        timer.measure(.attentionProjections) {
            gemms.matmulBackward(ws.dnormed.pointer, w.dq, dqkv, ws.normed.pointer, w.q, N, C, S, threads: threads)
        }
        timer.measure(.norms) {
            rmsnormBackward(ws.dresidual.pointer, w.dInputNorm, ws.dnormed.pointer, a.residual.pointer, w.inputNorm,
                            a.rstd1.pointer, N, C, threads: threads)
        }
    }
}
