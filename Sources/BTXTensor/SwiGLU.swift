/// The SwiGLU gate of Llama's MLP: `out[N, I] = silu(gate) · up`, `silu(x) = x · σ(x)`.
/// Works on any `N` rows, so a mixture-of-experts layer can run it on a gathered subset of tokens.
/// `gate` and `up` rows are `stride` floats apart (default `I`; `2I` when they are the two halves of
/// a fused `[gate|up]` product); `out` is dense.
public func swigluForward(_ out: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>,
                          _ up: UnsafePointer<Float>, _ N: Int, _ I: Int, stride: Int? = nil, threads: Int = 1) {
    // out: [N, I];  gate, up: [N, I] with row stride `stride`
    parallelFor(N, threads: threads, SwiGLUForwardRow(out: out, gate: gate, up: up, I: I, ld: stride ?? I))
}

/// Backward of `swigluForward`: `dgate = dout · up · silu'(gate)`, `dup = dout · silu(gate)`
/// (overwritten). `dgate`/`dup` may alias `gate`/`up`: each element is read before it is written.
/// `gate`, `up`, `dgate`, `dup` rows are `stride` apart (default `I`); `dout` is dense.
public func swigluBackward(_ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>,
                           _ dout: UnsafePointer<Float>, _ gate: UnsafePointer<Float>,
                           _ up: UnsafePointer<Float>, _ N: Int, _ I: Int, stride: Int? = nil, threads: Int = 1) {
    // dout: [N, I];  dgate, dup, gate, up: [N, I] with row stride `stride`
    parallelFor(N, threads: threads, SwiGLUBackwardRow(dgate: dgate, dup: dup, dout: dout, gate: gate, up: up, I: I,
                                                       ld: stride ?? I))
}

/// Row `n` of `swigluForward`.
struct SwiGLUForwardRow: ParallelKernel {
    let out: UnsafeMutablePointer<Float>, gate, up: UnsafePointer<Float>, I: Int, ld: Int

    func callAsFunction(_ n: Int) {
        let g = gate + n * ld, u = up + n * ld, y = out + n * I
        var i = 0
        while i + 8 <= I {
            let x = VectorMath.load(g, i)
            VectorMath.store(x * VectorMath.sigmoid(x) * VectorMath.load(u, i), y, i)
            i += 8
        }
        while i < I { let x = g[i]; y[i] = x / (1 + VectorMath.exp(-x)) * u[i]; i += 1 }
    }
}

/// Row `n` of `swigluBackward` (silu'(x) = σ(x) · (1 + x · (1 − σ(x)))).
struct SwiGLUBackwardRow: ParallelKernel {
    let dgate, dup: UnsafeMutablePointer<Float>, dout, gate, up: UnsafePointer<Float>, I: Int, ld: Int

    func callAsFunction(_ n: Int) {
        let g = gate + n * ld, u = up + n * ld, dy = dout + n * I
        let dg = dgate + n * ld, du = dup + n * ld
        var i = 0
        while i + 8 <= I {
            let x = VectorMath.load(g, i), s = VectorMath.sigmoid(x)
            let d = VectorMath.load(dy, i), upv = VectorMath.load(u, i)
            VectorMath.store(d * upv * s * (1 + x * (1 - s)), dg, i)
            VectorMath.store(d * x * s, du, i)
            i += 8
        }
        while i < I {
            let x = g[i], s = 1 / (1 + VectorMath.exp(-x)), d = dy[i], upv = u[i]
            dg[i] = d * upv * s * (1 + x * (1 - s))
            du[i] = d * x * s
            i += 1
        }
    }
}
