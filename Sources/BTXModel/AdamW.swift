import BTXTensor
import Foundation

/// AdamW (Loshchilov & Hutter) with decoupled weight decay, as PyTorch's `torch.optim.AdamW`:
/// `p ← p·(1 − lr·wd)` then `p ← p − lr · m̂ / (√v̂ + ε)`. Norm gains are not decayed.
/// Defaults follow the BTX paper (§4.1): β₂ = 0.95, weight decay 0.1.
public struct AdamWHyperparameters: Codable, Equatable, Sendable {
    /// First-moment decay.
    public var beta1: Double = 0.9
    /// Second-moment decay (0.95 in BTX, as in Llama pretraining).
    public var beta2: Double = 0.95
    /// Added to √v̂ for stability.
    public var epsilon: Double = 1e-8
    /// Decoupled weight decay, applied to matrices only.
    public var weightDecay: Double = 0.1

    /// The defaults above, with any field overridden.
    public init(beta1: Double = 0.9, beta2: Double = 0.95, epsilon: Double = 1e-8, weightDecay: Double = 0.1) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Throws naming the first field out of range.
    public func validate() throws {
        for (v, name) in [(beta1, "beta1"), (beta2, "beta2")] where !(v >= 0 && v < 1) {
            throw ModelError.invalidHyperparameter(field: name, reason: "must be in [0, 1), got \(v)")
        }
        if !(epsilon > 0) { throw ModelError.invalidHyperparameter(field: "epsilon", reason: "must be positive, got \(epsilon)") }
        if !(weightDecay >= 0) { throw ModelError.invalidHyperparameter(field: "weight_decay", reason: "must be ≥ 0, got \(weightDecay)") }
    }
}

/// The optimizer's state: first and second moments in the parameters' layout, and the step count.
public final class AdamW {
    /// Hyper-parameters.
    public let hyper: AdamWHyperparameters
    /// First moment m, per parameter.
    public let firstMoment: ParameterSet
    /// Second moment v, per parameter.
    public let secondMoment: ParameterSet
    /// Updates applied so far (the bias corrections use `step` after increment).
    public var step = 0
    /// Tensors left untouched (no update, no decay; their gradients are zeroed before clipping so
    /// that they do not count in the norm): frozen experts, or everything but the routers.
    /// `Trainer` starts it as the model's `frozen` set, whose gradients are never computed.
    public var frozen: Set<String> = []
    let threads: Int

    /// Zero moments shaped like `parameters`.
    public init(parameters: ParameterSet, hyper: AdamWHyperparameters = .init(), threads: Int = 2) {
        self.hyper = hyper
        firstMoment = parameters.zerosLike()
        secondMoment = parameters.zerosLike()
        self.threads = threads
    }

    /// One update of `parameters` from `gradients` with learning rate `lr`.
    public func update(_ parameters: ParameterSet, gradients: ParameterSet, lr: Double) {
        step += 1
        let b1 = Float(hyper.beta1), b2 = Float(hyper.beta2), eps = Float(hyper.epsilon)
        let c1 = Float(1 / (1 - pow(hyper.beta1, Double(step))))
        let c2 = Float(1 / (1 - pow(hyper.beta2, Double(step))))
        let lrF = Float(lr)
        for e in parameters.entries where !frozen.contains(e.name) {
            let decay = e.decays ? Float(1 - lr * hyper.weightDecay) : 1
            let p = parameters.storage + e.offset, g = gradients.storage + e.offset
            let m = firstMoment.storage + e.offset, v = secondMoment.storage + e.offset
            // Chunks of the tensor in parallel; every element is independent, so any split gives the
            // same bits.
            let chunk = 16_384, chunks = (e.count + chunk - 1) / chunk
            parallelFor(chunks, threads: threads) { ci in
                let lo = ci * chunk, hi = min(e.count, lo + chunk)
                adamwKernel(p + lo, m + lo, v + lo, g + lo, hi - lo, b1: b1, b2: b2, c1: c1, c2: c2,
                            eps: eps, lr: lrF, decay: decay)
            }
        }
    }
}

/// The fused AdamW update over `n` elements.
@inline(__always)
func adamwKernel(_ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                 _ g: UnsafePointer<Float>, _ n: Int, b1: Float, b2: Float, c1: Float, c2: Float,
                 eps: Float, lr: Float, decay: Float) {
    var i = 0
    while i + 8 <= n {
        let gv = VectorMath.load(g, i)
        let mv = b1 * VectorMath.load(m, i) + (1 - b1) * gv
        let vv = b2 * VectorMath.load(v, i) + (1 - b2) * gv * gv
        VectorMath.store(mv, m, i)
        VectorMath.store(vv, v, i)
        let step = lr * (mv * c1) / ((vv * c2).squareRoot() + eps)
        VectorMath.store(VectorMath.load(p, i) * decay - step, p, i)
        i += 8
    }
    while i < n {
        let gi = g[i]
        m[i] = b1 * m[i] + (1 - b1) * gi
        v[i] = b2 * v[i] + (1 - b2) * gi * gi
        p[i] = p[i] * decay - lr * (m[i] * c1) / ((v[i] * c2).squareRoot() + eps)
        i += 1
    }
}
