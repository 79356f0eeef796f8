import CBTXKernels

/// The SwiGLU gate of Llama's MLP: `out[N, I] = silu(gate) · up`, `silu(x) = x · σ(x)`.
/// Works on any `N` rows, so a mixture-of-experts layer can run it on a gathered subset of tokens.
/// `gate` and `up` rows are `stride` floats apart (default `I`; `2I` when they are the two halves of
/// a fused `[gate|up]` product); `out` is dense.
public func swigluForward(_ out: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>,
                          _ up: UnsafePointer<Float>, _ N: Int, _ I: Int, stride: Int? = nil, threads: Int = 1,
                          kernel: KernelBuild = .best) {
    // out: [N, I];  gate, up: [N, I] with row stride `stride`
    parallelFor(N, threads: threads, SwiGLUForwardRow(out: out, gate: gate, up: up, I: I, ld: stride ?? I, isa: kernel.isa))
}

/// Backward of `swigluForward`: `dgate = dout · up · silu'(gate)`, `dup = dout · silu(gate)`
/// (overwritten). `dgate`/`dup` may alias `gate`/`up`: each element is read before it is written.
/// `gate`, `up`, `dgate`, `dup` rows are `stride` apart (default `I`); `dout` is dense.
public func swigluBackward(_ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>,
                           _ dout: UnsafePointer<Float>, _ gate: UnsafePointer<Float>,
                           _ up: UnsafePointer<Float>, _ N: Int, _ I: Int, stride: Int? = nil, threads: Int = 1,
                           kernel: KernelBuild = .best) {
    // dout: [N, I];  dgate, dup, gate, up: [N, I] with row stride `stride`
    parallelFor(N, threads: threads, SwiGLUBackwardRow(dgate: dgate, dup: dup, dout: dout, gate: gate, up: up, I: I,
                                                       ld: stride ?? I, isa: kernel.isa))
}

/// Row `n` of `swigluForward` (C, `CBTXKernels/SwiGLU.c`).
struct SwiGLUForwardRow: ParallelKernel {
    let out: UnsafeMutablePointer<Float>, gate, up: UnsafePointer<Float>, I: Int, ld: Int, isa: Int32

    func callAsFunction(_ n: Int) { btx_swiglu_forward(out + n * I, gate + n * ld, up + n * ld, 1, I, ld, isa) }
}

/// Row `n` of `swigluBackward` (silu'(x) = σ(x) · (1 + x · (1 − σ(x))); C, `CBTXKernels/SwiGLU.c`).
struct SwiGLUBackwardRow: ParallelKernel {
    let dgate, dup: UnsafeMutablePointer<Float>, dout, gate, up: UnsafePointer<Float>, I: Int, ld: Int, isa: Int32

    func callAsFunction(_ n: Int) {
        btx_swiglu_backward(dgate + n * ld, dup + n * ld, dout + n * I, gate + n * ld, up + n * ld, 1, I, ld, isa)
    }
}
