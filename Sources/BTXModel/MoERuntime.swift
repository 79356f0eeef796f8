import BTXTensor

/// What the MoE layers of one model share: the MoE config, the optimizer step (for the Gumbel
/// temperature and noise), the noise seed, optional routing statistics, and scratch buffers that
/// are used within one layer call and never kept between calls.
public final class MoERuntime {
    /// The mixture's settings.
    public let moe: MoEConfig
    /// Optimizer steps done; set it before each training step (the trainer's `step`). Sample-top-1
    /// noise is a function of (seed, layer, step, call within the step), so a resumed run draws the
    /// same noise as an uninterrupted one.
    public var step = 0 {
        didSet { if step != oldValue { callsThisStep = [Int](repeating: 0, count: callsThisStep.count) } }
    }
    /// Seed of the Gumbel noise.
    public let noiseSeed: UInt64
    /// Routing counts, when attached.
    public let statistics: MoERoutingStatistics?
    var callsThisStep: [Int]
    /// Set while a layer replays its last forward pass (activation recomputation): noise repeats
    /// the layer's last draw instead of advancing, and routing is not counted again.
    var replaying = false
    let scratch: Scratch

    /// Shared scratch, sized for `rows` rows and the widest layer's `slots` per token.
    final class Scratch {
        let logits, dlogits, noise, dprobs: Buffer<Float>  // [N, E]
        let dgates: Buffer<Float>  // [N, K]
        let gathered, dgathered: Buffer<Float>  // [N·K, C]

        init(rows N: Int, C: Int, E: Int, K: Int, training: Bool) {
            let t = training ? 1 : 0
            logits = Buffer(count: N * E)
            noise = Buffer(count: N * E)
            dlogits = Buffer(count: t * N * E)
            dprobs = Buffer(count: t * N * E)
            dgates = Buffer(count: t * N * K)
            gathered = Buffer(count: N * K * C)
            dgathered = Buffer(count: t * N * K * C)
        }
    }

    /// Runtime for a model of `layers` blocks and width `C`, training on up to `rows` rows per call.
    public init(moe: MoEConfig, layers: Int, hiddenSize C: Int, rows: Int, training: Bool, noiseSeed: UInt64 = 0,
                statistics: MoERoutingStatistics? = nil) {
        self.moe = moe
        self.noiseSeed = noiseSeed
        self.statistics = statistics
        callsThisStep = [Int](repeating: 0, count: layers)
        let K = (0..<layers).map { moe.slots(layer: $0) }.max() ?? 1
        scratch = Scratch(rows: rows, C: C, E: moe.numLocalExperts, K: K, training: training)
    }

    /// The generator for layer `l`'s next noise draw (advances the layer's call count), or, while
    /// `replaying`, its last draw again.
    func noiseGenerator(layer l: Int) -> SplitMix64 {
        if !replaying { callsThisStep[l] += 1 }
        precondition(callsThisStep[l] > 0, "layer \(l) replays a forward pass it has not run this step")
        let call = callsThisStep[l] - 1
        // Hash (seed, layer, step, call) by chaining generators (no array: the step must not allocate).
        var h = SplitMix64(seed: noiseSeed)
        h = SplitMix64(seed: h.next() ^ UInt64(l))
        h = SplitMix64(seed: h.next() ^ UInt64(step))
        return SplitMix64(seed: h.next() ^ UInt64(call))
    }
}
