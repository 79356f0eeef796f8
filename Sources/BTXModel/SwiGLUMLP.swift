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

    /// Points at the three weights called `gateName`, `upName`, `downName` in `parameters`; the
    /// `frozen` ones get no gradient.
    public init(parameters: ParameterSet, gradients: ParameterSet?, gate gateName: String,
                up upName: String, down downName: String, C: Int, I: Int, frozen: Set<String> = [],
                gemms: GEMMCounter = GEMMCounter()) {
        gate = parameters.pointer(gateName)
        up = parameters.pointer(upName)
        down = parameters.pointer(downName)
        func gradient(_ name: String) -> UnsafeMutablePointer<Float>? { frozen.contains(name) ? nil : gradients?.pointer(name) }
        dGate = gradient(gateName)
        dUp = gradient(upName)
        dDown = gradient(downName)
        self.C = C
        self.I = I
        self.gemms = gemms
    }

    /// `out[N, C] (+)= down(silu(inp·gateᵀ) · inp·upᵀ)`; keeps `gateAct`, `upAct` `[N, I]` for the
    /// backward pass; `hidden [N, I]` is scratch.
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                        gateAct: UnsafeMutablePointer<Float>, upAct: UnsafeMutablePointer<Float>,
                        hidden: UnsafeMutablePointer<Float>, _ N: Int, accumulate: Bool, threads: Int) {
        matmulForward(gateAct, inp, gate, N, C, I)
        matmulForward(upAct, inp, up, N, C, I)
        swigluForward(hidden, gateAct, upAct, N, I, threads: threads)
        matmulForward(out, hidden, down, N, I, C, accumulate: accumulate)
    }

    /// Backward of `forward` for the same rows: `dinp[N, C] (+)= ∂L/∂inp`, the gradients of the
    /// weights that have one added.
    /// Overwrites `gateAct`/`upAct` with their gradients; `hidden`, `dhidden` `[N, I]` are scratch.
    public func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, gateAct: UnsafeMutablePointer<Float>,
                         upAct: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
                         dhidden: UnsafeMutablePointer<Float>, _ N: Int, accumulateInput: Bool, threads: Int) {
        // Recompute the gated hidden state instead of keeping it per layer (one cheap pass).
        swigluForward(hidden, gateAct, upAct, N, I, threads: threads)
        gemms.matmulBackward(dhidden, dDown, dout, hidden, down, N, I, C)
        swigluBackward(gateAct, upAct, dhidden, gateAct, upAct, N, I, threads: threads)
        gemms.matmulBackward(dinp, dGate, gateAct, inp, gate, N, C, I, accumulateInput: accumulateInput)
        gemms.matmulBackward(dinp, dUp, upAct, inp, up, N, C, I, accumulateInput: true)
    }
}

/// Llama's dense feed-forward layer: one `SwiGLUMLP` over all rows.
public final class DenseFeedForward: FeedForwardLayer {
    let mlp: SwiGLUMLP
    let gateAct: Buffer<Float>, upAct: Buffer<Float>  // [maxRows, I] each, kept for backward
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
                        C: c.hiddenSize, I: c.intermediateSize, frozen: context.frozen, gemms: context.gemms)
        gateAct = Buffer(count: context.maxRows * c.intermediateSize)
        upAct = Buffer(count: context.maxRows * c.intermediateSize)
        scratch = context.scratch
        threads = context.threads
    }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int) {
        mlp.forward(out, inp, gateAct: gateAct.pointer, upAct: upAct.pointer, hidden: scratch.hidden.pointer,
                    N, accumulate: true, threads: threads)
    }

    public func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                         _ inp: UnsafePointer<Float>, _ N: Int, lossScale: Float) {
        guard let dhidden = scratch.dhidden else { preconditionFailure("backward on an inference-only model") }
        mlp.backward(dinp, dout, inp, gateAct: gateAct.pointer, upAct: upAct.pointer, hidden: scratch.hidden.pointer,
                     dhidden: dhidden.pointer, N, accumulateInput: false, threads: threads)
    }
}
