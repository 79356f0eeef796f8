import BTXTensor

/// A Mixtral-style sparse mixture-of-experts feed-forward layer (BTX §2.3):
///
///     logits = x · routerᵀ                    [N, E]
///     (experts, gates) = route(logits)        [N, K] each (top-k, Switch, Gumbel sample, soft)
///     out[n] += Σ_j gates[n, j] · FFN_experts[n, j](x[n])
///
/// Tokens are grouped per expert (gather → one SwiGLU GEMM chain per expert → weighted
/// scatter-add). The backward pass covers the experts, the router through the gates, and the
/// load-balancing loss `α · E · Σ_i u_i · p_i`, whose value is `auxiliaryLoss`. Every buffer is
/// sized for the worst case at construction: a training step allocates nothing.
public final class MoEFeedForward: FeedForwardLayer {
    /// Block index.
    public let layer: Int
    /// The routing this layer uses (the config's, except a soft first layer for sample-top-1).
    public let kind: RoutingKind
    /// E and K (slots per token).
    public let E: Int, K: Int
    let C: Int, I: Int, maxRows: Int, capacity: Int, alpha: Float, threads: Int
    let runtime: MoERuntime
    let ffn: FeedForwardScratch
    let router: UnsafeMutablePointer<Float>, dRouter: UnsafeMutablePointer<Float>?  // dRouter nil: inference or frozen
    let training: Bool
    let gemms: GEMMCounter
    let experts: [SwiGLUMLP]
    // Kept from forward for backward.
    let route: RoutingBuffers
    let chosen: Buffer<Int32>, gates: Buffer<Float>, probs: Buffer<Float>, sampled: Buffer<Float>
    let slotOf: Buffer<Int32>, rowOfSlot: Buffer<Int32>
    let counts: Buffer<Int>, offsets: Buffer<Int>
    let expertOut: Buffer<Float>, gateAct: Buffer<Float>, upAct: Buffer<Float>  // [N·K, C|I]
    let usage: Buffer<Float>, meanProbs: Buffer<Float>  // [E]
    var temperature: Float = 1
    /// The load-balancing loss of the last forward pass (0 when α = 0).
    public private(set) var auxiliaryLoss: Float = 0
    /// Assignments a Switch capacity dropped in the last forward pass.
    public private(set) var lastDropped = 0

    /// Layer `l` of a model built around `context`, sharing `runtime` with the other layers.
    public init(layer l: Int, runtime: MoERuntime, context: FeedForwardContext) {
        let moe = runtime.moe, c = context.config, N = context.maxRows
        let kind = moe.kind(layer: l), E = moe.numLocalExperts, K = moe.slots(layer: l)
        let C = c.hiddenSize, I = c.intermediateSize
        precondition(runtime.scratch.gathered.count >= N * K * C, "MoERuntime built for fewer rows than the model")
        (layer, self.kind, self.E, self.K, self.C, self.I, maxRows) = (l, kind, E, K, C, I, N)
        // Switch's capacity limit is a training device (it bounds each expert's batch); at evaluation
        // and generation every token keeps its expert, as in the paper's evaluation.
        capacity = context.gradients != nil ? moe.capacity(rows: N, layer: l) : N
        alpha = Float(moe.routerAuxLossCoef)
        threads = context.threads
        self.runtime = runtime
        ffn = context.scratch
        router = context.parameters.pointer(MoEParameters.router(l))
        dRouter = context.gradient(MoEParameters.router(l))
        training = context.gradients != nil
        gemms = context.gemms
        experts = (0..<E).map { e in
            SwiGLUMLP(parameters: context.parameters, gradients: context.gradients, gate: MoEParameters.expert(l, e, "w1"),
                      up: MoEParameters.expert(l, e, "w3"), down: MoEParameters.expert(l, e, "w2"), C: C, I: I,
                      frozen: context.frozen, gemms: context.gemms)
        }
        let kept = context.kept
        let chosen: Buffer<Int32> = kept.buffer("moe.chosen", count: N * K), gates: Buffer<Float> = kept.buffer("moe.gates", count: N * K)
        let probs: Buffer<Float> = kept.buffer("moe.probs", count: N * E)
        let sampled: Buffer<Float> = kept.buffer("moe.sampled", count: kind == .sampleTop1 ? N * E : 0)
        (self.chosen, self.gates, self.probs, self.sampled) = (chosen, gates, probs, sampled)
        route = RoutingBuffers(experts: chosen.pointer, gates: gates.pointer, probs: probs.pointer, sampled: sampled.pointer)
        slotOf = kept.buffer("moe.slot_of", count: N * K)
        rowOfSlot = kept.buffer("moe.row_of_slot", count: N * K)
        counts = kept.buffer("moe.counts", count: E)
        offsets = kept.buffer("moe.offsets", count: E)
        expertOut = kept.buffer("moe.expert_out", count: N * K * C)
        gateAct = kept.buffer("moe.gate_act", count: N * K * I)
        upAct = kept.buffer("moe.up_act", count: N * K * I)
        usage = kept.buffer("moe.usage", count: E)
        meanProbs = kept.buffer("moe.mean_probs", count: E)
    }

    /// Replays the last `forward` (activation recomputation): the same noise, no routing counted twice.
    public func replayForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int) {
        runtime.replaying = true
        defer { runtime.replaying = false }
        forward(out, inp, N)
    }

    /// Tokens routed to each expert in the last forward pass (after any capacity drop; with
    /// recomputation the layers share this buffer, so it holds the last layer run).
    public var lastCounts: [Int] { counts.array }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int) {
        precondition(N <= maxRows, "MoE layer built for \(maxRows) rows, got \(N)")
        let s = runtime.scratch
        matmulForward(s.logits.pointer, inp, router, N, C, E)
        var noise: UnsafePointer<Float>?
        if kind == .sampleTop1 && training {
            var rng = runtime.noiseGenerator(layer: layer)
            gumbelNoise(s.noise.pointer, N * E, rng: &rng)
            noise = UnsafePointer(s.noise.pointer)
        }
        temperature = runtime.moe.temperature(step: runtime.step)
        routeForward(route, s.logits.pointer, noise: noise, kind: kind, temperature: temperature, N, E, K, threads: threads)
        lastDropped = dispatchPlan(slotOf: slotOf.pointer, rowOfSlot: rowOfSlot.pointer, counts: counts.pointer,
                                   offsets: offsets.pointer, experts: chosen.pointer, capacity: capacity, N, E, K)
        gatherRows(s.gathered.pointer, inp, rowOfSlot: rowOfSlot.pointer, slotCount, C, threads: threads)
        for e in 0..<E where counts.pointer[e] > 0 {
            let o = offsets.pointer[e]
            experts[e].forward(expertOut.pointer + o * C, s.gathered.pointer + o * C, gateAct: gateAct.pointer + o * I,
                               upAct: upAct.pointer + o * I, hidden: ffn.hidden.pointer, counts.pointer[e],
                               accumulate: false, threads: threads)
        }
        combineForward(out, expertOut.pointer, gates: gates.pointer, slotOf: slotOf.pointer, N, K, C, threads: threads)
        auxiliaryLoss = alpha > 0 ? loadBalancingForward(usage: usage.pointer, meanProbs: meanProbs.pointer, route,
                                                         alpha: alpha, N, E, K) : 0
        if !runtime.replaying { runtime.statistics?.record(layer: layer, experts: chosen.pointer, dropped: lastDropped, N, K) }
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ N: Int, lossScale: Float) {
        guard training, let dhidden = ffn.dhidden else { preconditionFailure("backward on an inference-only MoE layer") }
        let s = runtime.scratch
        // ∂L/∂gates, and the experts' output gradients (gate · dout) in place of their outputs.
        combineBackward(dgates: s.dgates.pointer, expertOut.pointer, dout, gates: gates.pointer, slotOf: slotOf.pointer,
                        N, K, C, threads: threads)
        // The gathered inputs were overwritten by later layers: gather again (cheaper than keeping them).
        gatherRows(s.gathered.pointer, inp, rowOfSlot: rowOfSlot.pointer, slotCount, C, threads: threads)
        for e in 0..<E where counts.pointer[e] > 0 {
            let o = offsets.pointer[e]
            experts[e].backward(s.dgathered.pointer + o * C, expertOut.pointer + o * C, s.gathered.pointer + o * C,
                                gateAct: gateAct.pointer + o * I, upAct: upAct.pointer + o * I, hidden: ffn.hidden.pointer,
                                dhidden: dhidden.pointer, counts.pointer[e], accumulateInput: false, threads: threads)
        }
        if alpha > 0 {
            loadBalancingBackward(dgates: s.dgates.pointer, dprobs: s.dprobs.pointer, route, usage: usage.pointer,
                                  meanProbs: meanProbs.pointer, alpha: alpha, scale: lossScale, N, E, K, threads: threads)
        } else {
            s.dprobs.pointer.update(repeating: 0, count: N * E)
        }
        routeBackward(s.dlogits.pointer, route, dgates: s.dgates.pointer, dprobs: s.dprobs.pointer, kind: kind,
                      temperature: temperature, N, E, K, threads: threads)
        scatterRows(dinp, s.dgathered.pointer, slotOf: slotOf.pointer, N, K, C, threads: threads)
        gemms.matmulBackward(dinp, dRouter, s.dlogits.pointer, inp, router, N, C, E, accumulateInput: true)
    }

    /// Slots in use after the last dispatch.
    var slotCount: Int { offsets.pointer[E - 1] + counts.pointer[E - 1] }
}
