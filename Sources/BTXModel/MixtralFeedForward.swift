import BTXTensor
import Foundation

/// Mixtral's sparse MoE block for inference (HF `MixtralSparseMoeBlock`): a linear router picks the
/// top-K of E SwiGLU experts per token, their softmax probabilities renormalised over the K, and the
/// token's output is the weighted sum of those experts' outputs. Tokens are grouped per expert
/// (gather → one GEMM chain per expert → weighted scatter-add), never one GEMM per token.
///
/// NOTE: inference only (import checks, `generate`); training uses the MoE engineer's layer.
public final class MixtralFeedForward: FeedForwardLayer {
    let router: UnsafeMutablePointer<Float>   // [E, C]
    let experts: [SwiGLUMLP]
    let C: Int, E: Int, K: Int
    let logits: Buffer<Float>                 // [maxRows, E]
    let gathered, expertOut: Buffer<Float>    // [maxRows, C]
    let gateAct, upAct: Buffer<Float>         // [maxRows, I]
    let scratch: FeedForwardScratch
    let threads: Int

    /// The `block_sparse_moe.*` tensors of block `l`: `experts` experts, `topK` per token.
    public init(layer l: Int, experts E: Int, topK K: Int, context: FeedForwardContext) {
        precondition(E > 0 && (1...E).contains(K), "need 1 ≤ K ≤ E")
        let c = context.config, N = context.maxRows
        C = c.hiddenSize
        self.E = E
        self.K = K
        router = context.parameters.pointer(MixtralNames.gate(l))
        experts = (0..<E).map { e in
            SwiGLUMLP(parameters: context.parameters, gradients: nil, gate: MixtralNames.expert(l, e, "w1"),
                      up: MixtralNames.expert(l, e, "w3"), down: MixtralNames.expert(l, e, "w2"),
                      C: c.hiddenSize, I: c.intermediateSize)
        }
        logits = Buffer(count: N * E)
        gathered = Buffer(count: N * C)
        expertOut = Buffer(count: N * C)
        gateAct = Buffer(count: N * c.intermediateSize)
        upAct = Buffer(count: N * c.intermediateSize)
        scratch = context.scratch
        threads = context.threads
    }

    /// `out[N, C] += Σ_k w_k · expert_k(inp)` over each row's top-K experts.
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int) {
        matmulForward(logits.pointer, inp, router, N, C, E)
        var rows = [[Int]](repeating: [], count: E), weights = [[Float]](repeating: [], count: E)
        for n in 0..<N {
            for (e, w) in Self.route(logits.pointer + n * E, E, K) {
                rows[e].append(n)
                weights[e].append(w)
            }
        }
        for e in 0..<E where !rows[e].isEmpty {
            let M = rows[e].count
            for (i, n) in rows[e].enumerated() { (gathered.pointer + i * C).update(from: inp + n * C, count: C) }
            experts[e].forward(expertOut.pointer, gathered.pointer, gateAct: gateAct.pointer, upAct: upAct.pointer,
                               hidden: scratch.hidden.pointer, M, accumulate: false, threads: threads)
            for (i, n) in rows[e].enumerated() {
                let w = weights[e][i], src = expertOut.pointer + i * C, dst = out + n * C
                for j in 0..<C { dst[j] += w * src[j] }
            }
        }
    }

    /// The top-`K` experts of one row of router logits with their gates: softmax over all E, keep the
    /// K largest (ties to the lower index, as `torch.topk`), renormalise to sum 1.
    static func route(_ logits: UnsafePointer<Float>, _ E: Int, _ K: Int) -> [(expert: Int, weight: Float)] {
        var maxLogit = -Float.infinity
        for e in 0..<E { maxLogit = max(maxLogit, logits[e]) }
        var probs = (0..<E).map { Foundation.exp(logits[$0] - maxLogit) }
        let total = probs.reduce(0, +)
        for e in 0..<E { probs[e] /= total }
        let chosen = (0..<E).sorted { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }.prefix(K)
        let sum = chosen.reduce(Float(0)) { $0 + probs[$1] }
        return chosen.map { ($0, probs[$0] / sum) }
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ N: Int) {
        preconditionFailure("MixtralFeedForward is inference-only; train MoE models with the MoE layer")
    }
}
