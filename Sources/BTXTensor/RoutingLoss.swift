/// The load-balancing loss of one MoE layer (BTX paper §2.3, after Switch Transformer):
/// `L_LB = α · E · Σ_i u_i · p_i`, with `u_i` the batch mean of the gate values given to expert i
/// and `p_i` the batch mean of the full softmax. Writes `usage` = u and `meanProbs` = p (`[E]` each,
/// kept for the backward pass) and returns the loss. Sums run in row order in double precision.
public func loadBalancingForward(usage: UnsafeMutablePointer<Float>, meanProbs: UnsafeMutablePointer<Float>,
                                 _ r: RoutingBuffers, alpha: Float, _ N: Int, _ E: Int, _ K: Int) -> Float {
    // Stack scratch: the training step must not allocate.
    withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * E) { sums in
        let u = sums.baseAddress!, p = u + E
        u.initialize(repeating: 0, count: 2 * E)
        for n in 0..<N {
            for j in 0..<K { u[Int(r.experts[n * K + j])] += Double(r.gates[n * K + j]) }
            for e in 0..<E { p[e] += Double(r.probs[n * E + e]) }
        }
        var loss = 0.0
        for e in 0..<E {
            usage[e] = Float(u[e] / Double(N))
            meanProbs[e] = Float(p[e] / Double(N))
            loss += u[e] / Double(N) * p[e] / Double(N)
        }
        return Float(Double(alpha) * Double(E) * loss)
    }
}

/// Backward of `loadBalancingForward` for the loss scaled by `scale`: adds
/// `scale · α E p_e / N` to every gate of expert e in `dgates[N, K]` and sets
/// `dprobs[N, E] = scale · α E u_e / N` (overwritten).
public func loadBalancingBackward(dgates: UnsafeMutablePointer<Float>, dprobs: UnsafeMutablePointer<Float>,
                                  _ r: RoutingBuffers, usage: UnsafePointer<Float>, meanProbs: UnsafePointer<Float>,
                                  alpha: Float, scale: Float, _ N: Int, _ E: Int, _ K: Int, threads: Int = 1) {
    let c = scale * alpha * Float(E) / Float(N)
    parallelFor(N, threads: threads, LoadBalancingBackwardRow(dgates: dgates, dprobs: dprobs, r: r, usage: usage,
                                                              meanProbs: meanProbs, c: c, E: E, K: K))
}

/// Token `n` of `loadBalancingBackward`.
struct LoadBalancingBackwardRow: ParallelKernel {
    let dgates, dprobs: UnsafeMutablePointer<Float>, r: RoutingBuffers, usage, meanProbs: UnsafePointer<Float>
    let c: Float, E, K: Int

    func callAsFunction(_ n: Int) {
        for j in 0..<K { dgates[n * K + j] += c * meanProbs[Int(r.experts[n * K + j])] }
        for e in 0..<E { dprobs[n * E + e] = c * usage[e] }
    }
}
