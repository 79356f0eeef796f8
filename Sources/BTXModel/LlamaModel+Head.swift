import BTXTensor

/// The LM head and the loss of a training model, over row chunks: per chunk of `headChunkRows`
/// rows, logits GEMM → fused softmax / loss / dlogits in place → input-gradient GEMM into `dnormed`
/// and weight-gradient GEMM accumulated into the head's gradient. A training model never holds the
/// `[B·T, V]` logits (at a 49k vocabulary that is 192 MiB at B·T = 1024), only one `[chunk, V]` block,
/// and the chunk is large enough (256 rows) that every product stays a BLAS-sized one.
extension LlamaModel {
    /// Rows per chunk of the training head (the default of `init(headChunkRows:)`).
    public static let defaultHeadChunkRows = 256

    /// Mean cross-entropy of the rows in `normed` (the final norm's output) against `targets`.
    /// With `gradientScale` (∂L/∂(each row's loss)) it also writes ∂L/∂normed to `dnormed` and adds
    /// ∂L/∂head to the head's gradient; without, it only computes the loss.
    func chunkedHeadLoss(gradientScale: Float?) -> Float {
        let N = batchSize * sequenceLength, C = config.hiddenSize, V = config.vocabSize, R = headChunkRows
        var total = 0.0
        var r0 = 0
        while r0 < N {
            let rows = min(R, N - r0), logits = ws.logits.pointer
            let x = ws.normed.pointer + r0 * C, losses = ws.losses.pointer + r0, targets = ws.targets.pointer + r0
            matmulForward(logits, x, lmHead, rows, C, V, threads: threads)
            if let dloss = gradientScale {
                total += crossEntropyForwardBackward(losses, logits, targets, dloss: dloss, rows, V, threads: threads)
                matmulBackward(ws.dnormed.pointer + r0 * C, dLmHead, logits, x, lmHead, rows, C, V, threads: threads)
            } else {
                _ = crossEntropyForward(losses, logits, targets, rows, V, threads: threads)
                for n in 0..<rows { total += Double(losses[n]) }
            }
            r0 += rows
        }
        if gradientScale != nil { gemms.count(input: true, weight: dLmHead != nil, N, C, V) }
        return Float(total / Double(N))
    }

    /// Training forward and backward in one pass on `B` sequences of `T + 1` tokens (as
    /// `forward(sequences:)`): returns the mean cross-entropy and adds `∂(lossScale · loss)/∂weights`
    /// to `gradients` (as `backward(lossScale:)`). The head's gradients are computed while its logits
    /// chunk is hot, so the head's forward product runs once, not twice as with `forward` + `backward`.
    public func forwardBackward(sequences: UnsafeBufferPointer<Int32>, lossScale: Float = 1) throws -> Float {
        guard gradients != nil else { preconditionFailure("forwardBackward on a model built with training: false") }
        try loadSequences(sequences)
        let N = batchSize * sequenceLength
        run(batch: batchSize, start: 0, count: sequenceLength)
        let loss = timer.measure(.lmHeadAndLoss) { chunkedHeadLoss(gradientScale: lossScale / Float(N)) }
        bodyBackward(lossScale: lossScale)
        return loss
    }
}
