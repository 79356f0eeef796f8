import Foundation

/// How a mixture-of-experts router turns a token's logits into experts and gate values (BTX paper
/// §2.3 and its routing ablations, arXiv 2403.07816).
public enum RoutingKind: String, Codable, Sendable, CaseIterable {
    /// The k largest logits; gates = softmax over those k logits (= softmax, top-k, renormalise).
    case topK = "top_k"
    /// Switch Transformer top-1: the argmax expert, gate = its full-softmax probability; a capacity
    /// factor bounds the tokens per expert (overflow skips the FFN through the residual).
    case switchTop1 = "switch"
    /// Gumbel-softmax sample of one expert, gate = its tempered noisy softmax value; noise-free
    /// argmax at inference.
    case sampleTop1 = "sample_top1"
    /// Every expert, gates = the full softmax (a dense mixture).
    case soft
}

/// Per-token routing decisions of one layer, written by `routeForward` and read by `routeBackward`.
/// Each token owns `K` slots (`K` = k, 1 or E by kind).
public struct RoutingBuffers {
    /// `[N, K]` chosen experts, in the order of decreasing score (ties: lower index first).
    public let experts: UnsafeMutablePointer<Int32>
    /// `[N, K]` gate values.
    public let gates: UnsafeMutablePointer<Float>
    /// `[N, E]` the full softmax of the logits (for the load-balancing loss).
    public let probs: UnsafeMutablePointer<Float>
    /// `[N, E]` the tempered noisy softmax (sample-top-1 only).
    public let sampled: UnsafeMutablePointer<Float>

    public init(experts: UnsafeMutablePointer<Int32>, gates: UnsafeMutablePointer<Float>,
                probs: UnsafeMutablePointer<Float>, sampled: UnsafeMutablePointer<Float>) {
        self.experts = experts
        self.gates = gates
        self.probs = probs
        self.sampled = sampled
    }
}

/// Slots per token for a routing kind: k for top-k, 1 for the top-1 kinds, E for soft.
public func routingSlots(_ kind: RoutingKind, k: Int, E: Int) -> Int {
    switch kind {
    case .topK: return k
    case .switchTop1, .sampleTop1: return 1
    case .soft: return E
    }
}

/// Routes `N` tokens from their router logits `[N, E]`. `noise` `[N, E]` holds Gumbel draws for
/// sample-top-1 in training (nil: noise-free, i.e. inference); `temperature` is its τ.
public func routeForward(_ r: RoutingBuffers, _ logits: UnsafePointer<Float>, noise: UnsafePointer<Float>?,
                         kind: RoutingKind, temperature: Float, _ N: Int, _ E: Int, _ K: Int, threads: Int = 1) {
    parallelFor(N, threads: threads, RouteForwardRow(r: r, logits: logits, noise: noise, kind: kind,
                                                     temperature: temperature, E: E, K: K))
}

/// Backward of `routeForward`: `dlogits[N, E] = ∂L/∂logits` (overwritten) from `dgates[N, K]` and
/// `dprobs[N, E]` (∂L/∂probs from the load-balancing loss).
public func routeBackward(_ dlogits: UnsafeMutablePointer<Float>, _ r: RoutingBuffers,
                          dgates: UnsafePointer<Float>, dprobs: UnsafePointer<Float>,
                          kind: RoutingKind, temperature: Float, _ N: Int, _ E: Int, _ K: Int, threads: Int = 1) {
    parallelFor(N, threads: threads, RouteBackwardRow(dlogits: dlogits, r: r, dgates: dgates, dprobs: dprobs,
                                                      kind: kind, temperature: temperature, E: E, K: K))
}

/// `out[E] = softmax(scale · (z + noise))`, numerically stable.
@inline(__always)
func softmaxRow(_ out: UnsafeMutablePointer<Float>, _ z: UnsafePointer<Float>, scale: Float,
                noise: UnsafePointer<Float>?, _ E: Int) {
    var top = -Float.infinity
    for j in 0..<E { out[j] = scale * (z[j] + (noise?[j] ?? 0)); top = max(top, out[j]) }
    var sum: Float = 0
    for j in 0..<E { out[j] = VectorMath.exp(out[j] - top); sum += out[j] }
    for j in 0..<E { out[j] /= sum }
}

/// The `K` indices of the largest scores in decreasing order; ties go to the lower index, so the
/// choice is deterministic. Insertion into a sorted list: E and K are small.
@inline(__always)
func selectTop(_ sel: UnsafeMutablePointer<Int32>, _ score: UnsafePointer<Float>, _ E: Int, _ K: Int) {
    var filled = 0
    for e in 0..<E {
        let s = score[e]
        if filled == K && !(s > score[Int(sel[K - 1])]) { continue }
        var pos = min(filled, K - 1)
        while pos > 0 && s > score[Int(sel[pos - 1])] { sel[pos] = sel[pos - 1]; pos -= 1 }
        sel[pos] = Int32(e)
        filled = min(filled + 1, K)
    }
}

/// Fills `noise[count]` with standard Gumbel draws `−log(−log u)` from `rng`, in order.
public func gumbelNoise(_ noise: UnsafeMutablePointer<Float>, _ count: Int, rng: inout SplitMix64) {
    for i in 0..<count {
        let u = min(max(rng.nextUniform(), 1e-12), 1 - 1e-12)
        noise[i] = Float(-Foundation.log(-Foundation.log(u)))
    }
}

/// Token `n` of `routeForward`.
struct RouteForwardRow: ParallelKernel {
    let r: RoutingBuffers, logits: UnsafePointer<Float>, noise: UnsafePointer<Float>?, kind: RoutingKind
    let temperature: Float, E, K: Int

    func callAsFunction(_ n: Int) {
        let z = logits + n * E, p = r.probs + n * E
        let sel = r.experts + n * K, g = r.gates + n * K
        softmaxRow(p, z, scale: 1, noise: nil, E)
        switch kind {
        case .topK:
            selectTop(sel, z, E, K)
            // Softmax over the selected logits; the first is the largest.
            let top = z[Int(sel[0])]
            var sum: Float = 0
            for j in 0..<K { g[j] = VectorMath.exp(z[Int(sel[j])] - top); sum += g[j] }
            for j in 0..<K { g[j] /= sum }
        case .switchTop1:
            selectTop(sel, z, E, 1)
            g[0] = p[Int(sel[0])]
        case .sampleTop1:
            let y = r.sampled + n * E
            softmaxRow(y, z, scale: 1 / temperature, noise: noise.map { $0 + n * E }, E)
            selectTop(sel, y, E, 1)
            g[0] = y[Int(sel[0])]
        case .soft:
            for j in 0..<E { sel[j] = Int32(j); g[j] = p[j] }
        }
    }
}

/// Token `n` of `routeBackward`.
struct RouteBackwardRow: ParallelKernel {
    let dlogits: UnsafeMutablePointer<Float>, r: RoutingBuffers, dgates, dprobs: UnsafePointer<Float>
    let kind: RoutingKind, temperature: Float, E, K: Int

    func callAsFunction(_ n: Int) {
        let dz = dlogits + n * E, p = r.probs + n * E, dpIn = dprobs + n * E
        let sel = r.experts + n * K, g = r.gates + n * K, dg = dgates + n * K
        for j in 0..<E { dz[j] = 0 }
        // ∂L/∂p for this row: the load-balancing part plus the gates that are probabilities.
        var dpSel: Float = 0  // switch: the selected expert's extra ∂L/∂p
        switch kind {
        case .topK:
            // g = softmax over selected logits: ∂z_j = g_j (dg_j − Σ g_m dg_m).
            var dot: Float = 0
            for j in 0..<K { dot += g[j] * dg[j] }
            for j in 0..<K { dz[Int(sel[j])] += g[j] * (dg[j] - dot) }
        case .switchTop1:
            dpSel = dg[0]
        case .sampleTop1:
            // g = y_s, y = softmax((z + noise)/τ): ∂z_j = (1/τ) y_j (δ_js − y_s) dg.
            let y = r.sampled + n * E, s = Int(sel[0]), ys = y[s]
            for j in 0..<E { dz[j] += y[j] * ((j == s ? dg[0] : 0) - ys * dg[0]) / temperature }
        case .soft:
            break
        }
        // Full softmax: ∂z_j += p_j (dp_j − Σ p_m dp_m).
        let s0 = kind == .switchTop1 ? Int(sel[0]) : -1
        var dot: Float = 0
        for j in 0..<E {
            let dp = dpIn[j] + (j == s0 ? dpSel : 0) + (kind == .soft ? dg[j] : 0)
            dot += p[j] * dp
        }
        for j in 0..<E {
            let dp = dpIn[j] + (j == s0 ? dpSel : 0) + (kind == .soft ? dg[j] : 0)
            dz[j] += p[j] * (dp - dot)
        }
    }
}
