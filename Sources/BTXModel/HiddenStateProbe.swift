import BTXTensor

/// A dense feed-forward layer that also sums the rows it is given (the normalised hidden states
/// entering the feed-forward block): how the `hidden` router initialisation of the MiX step sees
/// what each expert's domain looks like at every layer.
public final class HiddenStateProbe: FeedForwardLayer {
    let dense: DenseFeedForward
    /// Σ of the input rows seen so far, `[C]`, in double.
    public private(set) var sum: [Double]
    /// Rows seen so far.
    public private(set) var rows = 0

    /// Wraps block `layer`'s dense MLP.
    public init(layer l: Int, context: FeedForwardContext) throws {
        dense = try DenseFeedForward(layer: l, context: context)
        sum = [Double](repeating: 0, count: context.config.hiddenSize)
    }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int) {
        let C = sum.count
        for n in 0..<N {
            for c in 0..<C { sum[c] += Double(inp[n * C + c]) }
        }
        rows += N
        dense.forward(out, inp, N)
    }

    /// Replays without counting the rows again.
    public func replayForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int) {
        dense.forward(out, inp, N)
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ N: Int, lossScale: Float) {
        dense.backward(dinp, dout, inp, N, lossScale: lossScale)
    }

    /// The mean hidden state entering each layer's feed-forward block (`[L][C]`) of the dense model
    /// `parameters` over `tokens`, read in windows of `window` tokens.
    public static func meanHiddenStates(config c: LlamaConfig, parameters: ParameterSet, tokens: [Int32],
                                        window: Int, threads: Int) throws -> [[Float]] {
        let T = min(window, c.maxPositionEmbeddings, tokens.count)
        guard T > 0 else { throw ModelError.badInput("no tokens to measure hidden states on") }
        var probes: [HiddenStateProbe] = []
        let model = try LlamaModel(config: c, parameters: parameters, batchSize: 1, sequenceLength: T, training: false,
                                   threads: threads, feedForward: { l, context in
                                       let p = try HiddenStateProbe(layer: l, context: context)
                                       probes.append(p)
                                       return p
                                   })
        var start = 0
        while start + T <= tokens.count {
            try model.forward(inputs: Array(tokens[start..<(start + T)]))
            start += T
        }
        return probes.map { p in p.sum.map { Float($0 / Double(max(p.rows, 1))) } }
    }
}
