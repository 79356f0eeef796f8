/// The SwiGLU gate of Llama's MLP: `out[N, I] = silu(gate) · up`, `silu(x) = x · σ(x)`.
/// Works on any `N` rows, so a mixture-of-experts layer can run it on a gathered subset of tokens.
public func swigluForward(_ out: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>,
                          _ up: UnsafePointer<Float>, _ N: Int, _ I: Int, threads: Int = 1) {
    // out, gate, up: [N, I]
    parallelFor(N, threads: threads) { n in
        let g = gate + n * I, u = up + n * I, y = out + n * I
        var i = 0
        while i + 8 <= I {
            let x = VectorMath.load(g, i)
            VectorMath.store(x * VectorMath.sigmoid(x) * VectorMath.load(u, i), y, i)
            i += 8
        }
        while i < I { let x = g[i]; y[i] = x / (1 + VectorMath.exp(-x)) * u[i]; i += 1 }
    }
}

/// Backward of `swigluForward`: `dgate = dout · up · silu'(gate)`, `dup = dout · silu(gate)`
/// (overwritten). `dgate`/`dup` may alias `gate`/`up`: each element is read before it is written.
public func swigluBackward(_ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>,
                           _ dout: UnsafePointer<Float>, _ gate: UnsafePointer<Float>,
                           _ up: UnsafePointer<Float>, _ N: Int, _ I: Int, threads: Int = 1) {
    // dgate, dup, dout, gate, up: [N, I]
    // silu'(x) = σ(x) · (1 + x · (1 − σ(x)))
    parallelFor(N, threads: threads) { n in
        let g = gate + n * I, u = up + n * I, dy = dout + n * I
        let dg = dgate + n * I, du = dup + n * I
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
