import BTXTensor

/// One SwiGLU MLP (Llama's `mlp`, or one Mixtral expert): `down(silu(gate(x)) · up(x))`, as a
/// forward/backward pair over any `N` rows (a pointer and a row count), so a mixture-of-experts
/// layer can run it on the tokens gathered for one expert.
public struct SwiGLUMLP {
    /// `gate_proj` / `w1` `[I, C]`, `up_proj` / `w3` `[I, C]`, `down_proj` / `w2` `[C, I]`.
    public var gate, up, down: UnsafeMutablePointer<Float>
    /// Their gradients (nil for inference, or for a frozen weight: its gradient product is skipped).
    public var dGate, dUp, dDown: UnsafeMutablePointer<Float>?
    /// C and I.
    public let C: Int, I: Int
    /// Counts the backward products.
    public let gemms: GEMMCounter
    /// Whether `up` directly follows `gate` in memory (and `dUp` `dGate`), so that both projections
    /// are one `[2I, C]` product: then `gateAct` is `[N, 2I]` (gate | up per row) and `upAct` must be
    /// `gateAct + I`.
    public let fusedGateUp: Bool

    /// Points at the three weights called `gateName`, `upName`, `downName` in `parameters`; the
    /// `frozen` ones get no gradient. With `fuseGateUp`, and when `up` directly follows `gate` in the
    /// storage (and both are trained, or both frozen), runs them as one product.
    public init(parameters: ParameterSet, gradients: ParameterSet?, gate gateName: String,
                up upName: String, down downName: String, C: Int, I: Int, frozen: Set<String> = [],
                fuseGateUp: Bool = false, gemms: GEMMCounter = GEMMCounter()) {
        gate = parameters.pointer(gateName)
        up = parameters.pointer(upName)
        down = parameters.pointer(downName)
        func gradient(_ name: String) -> UnsafeMutablePointer<Float>? { gradients?.gradientPointer(name, frozen: frozen) }
        dGate = gradient(gateName)
        dUp = gradient(upName)
        dDown = gradient(downName)
        self.C = C
        self.I = I
        self.gemms = gemms
        let gradientsAdjacent = (dGate == nil && dUp == nil) || (dGate != nil && dUp == dGate.map { $0 + I * C })
        fusedGateUp = fuseGateUp && up == gate + I * C && gradientsAdjacent
    }

    /// Row stride of the gate/up activations.
    var activationStride: Int { fusedGateUp ? 2 * I : I }

    /// `out[N, C] (+)= down(silu(inp·gateᵀ) · inp·upᵀ)`; keeps `gateAct`, `upAct` `[N, I]` (or the
    /// fused `[N, 2I]`, see `fusedGateUp`) for the backward pass; `hidden [N, I]` is scratch.
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        gateAct: UnsafeMutablePointer<Float>, upAct: UnsafeMutablePointer<Float>,
                        hidden: UnsafeMutablePointer<Float>, _ N: Int, accumulate: Bool, threads: Int) {
        if fusedGateUp {
            precondition(upAct == gateAct + I, "fused gate/up activations are one [N, 2I] buffer")
            matmulForward(gateAct, inp, gate, N, C, 2 * I, threads: threads)
        } else {
            matmulForward(gateAct, inp, gate, N, C, I, threads: threads)
            matmulForward(upAct, inp, up, N, C, I, threads: threads)
        }
        swigluForward(hidden, gateAct, upAct, N, I, stride: activationStride, threads: threads)
        matmulForward(out, hidden, down, N, I, C, accumulate: accumulate, threads: threads)
    }

    /// Backward of `forward` for the same rows: `dinp[N, C] (+)= ∂L/∂inp`, the gradients of the
    /// weights that have one added.
    /// Overwrites `gateAct`/`upAct` with their gradients; `hidden`, `dhidden` `[N, I]` are scratch.
    public func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, gateAct: UnsafeMutablePointer<Float>,
                         upAct: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
                         dhidden: UnsafeMutablePointer<Float>, _ N: Int, accumulateInput: Bool, threads: Int) {
        // Recompute the gated hidden state instead of keeping it per layer (one cheap pass).
        let ld = activationStride
        swigluForward(hidden, gateAct, upAct, N, I, stride: ld, threads: threads)
        gemms.matmulBackward(dhidden, dDown, dout, hidden, down, N, I, C, threads: threads)
        swigluBackward(gateAct, upAct, dhidden, gateAct, upAct, N, I, stride: ld, threads: threads)
        if fusedGateUp {
            gemms.matmulBackward(dinp, dGate, gateAct, inp, gate, N, C, 2 * I, accumulateInput: accumulateInput, threads: threads)
        } else {
            gemms.matmulBackward(dinp, dGate, gateAct, inp, gate, N, C, I, accumulateInput: accumulateInput, threads: threads)
            gemms.matmulBackward(dinp, dUp, upAct, inp, up, N, C, I, accumulateInput: true, threads: threads)
        }
    }
}

/// Llama's dense feed-forward layer: one `SwiGLUMLP` over all rows.
public final class DenseFeedForward: FeedForwardLayer {
    let mlp: SwiGLUMLP
    let gateUpAct: Buffer<Float>  // [maxRows, 2I], kept for backward
    let scratch: FeedForwardScratch
    let threads: Int

    /// The `mlp.*` tensors of block `layer`.
    public init(layer l: Int, context: FeedForwardContext) throws {
        let c = context.config
        for (name, shape) in LlamaParameters.mlpLayout(c, layer: l) { try context.require(name, shape: shape) }
        mlp = SwiGLUMLP(parameters: context.parameters, gradients: context.gradients,
                        gate: LlamaParameters.name(l, "mlp.gate_proj.weight"),
                        up: LlamaParameters.name(l, "mlp.up_proj.weight"),
                        down: LlamaParameters.name(l, "mlp.down_proj.weight"),
                        C: c.hiddenSize, I: c.intermediateSize, frozen: context.frozen, fuseGateUp: true,
                        gemms: context.gemms)
        // Fused: one [maxRows, 2I] buffer (gate | up per row); otherwise two [maxRows, I].
        gateUpAct = context.kept.buffer("mlp.gate_up", count: context.maxRows * 2 * c.intermediateSize)
        scratch = context.scratch
        threads = context.threads
    }

    /// Where the gate and up activations of `N` rows live in `gateUpAct`.
    func activations(_ N: Int) -> (gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>) {
        (gateUpAct.pointer, gateUpAct.pointer + (mlp.fusedGateUp ? mlp.I : N * mlp.I))
    }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int) {
        let act = activations(N)
        mlp.forward(out, inp, gateAct: act.gate, upAct: act.up, hidden: scratch.hidden.pointer,
                    N, accumulate: true, threads: threads)
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ N: Int, lossScale: Float) {
        guard let dhidden = scratch.dhidden else { preconditionFailure("backward on an inference-only model") }
        let act = activations(N)
        mlp.backward(dinp, dout, inp, gateAct: act.gate, upAct: act.up, hidden: scratch.hidden.pointer,
                     dhidden: dhidden.pointer, N, accumulateInput: false, threads: threads)
    }
}
