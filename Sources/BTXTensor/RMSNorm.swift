/// Root-mean-square layer norm as in Hugging Face `LlamaRMSNorm`:
/// `out = inp · rsqrt(mean(inp²) + eps) · weight`, with `rstd[n]` kept for the backward pass.
public func rmsnormForward(_ out: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>,
                           _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                           _ N: Int, _ C: Int, eps: Float, threads: Int = 1) {
    // out:    [N, C]
    // rstd:   [N]
    // inp:    [N, C]
    // weight: [C]
    parallelFor(N, threads: threads) { n in
        let x = inp + n * C, y = out + n * C
        let r = 1 / (Float(VectorMath.sumOfSquares(x, C) / Double(C)) + eps).squareRoot()
        rstd[n] = r
        var c = 0
        while c + 8 <= C {
            VectorMath.store(VectorMath.load(x, c) * r * VectorMath.load(weight, c), y, c)
            c += 8
        }
        while c < C { y[c] = x[c] * r * weight[c]; c += 1 }
    }
}

/// Backward of `rmsnormForward`: `dinp += ∂L/∂inp` (accumulated: the input is the residual
/// stream) and `dweight += Σₙ dout · x̂` (skipped when `dweight` is nil: a frozen gain).
public func rmsnormBackward(_ dinp: UnsafeMutablePointer<Float>, _ dweight: UnsafeMutablePointer<Float>?,
                            _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                            _ weight: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                            _ N: Int, _ C: Int, threads: Int = 1) {
    // dinp, dout, inp: [N, C]; dweight, weight: [C]; rstd: [N]
    // dx = r · (w·dy − x̂ · mean(w·dy · x̂)),  x̂ = x · r
    parallelFor(N, threads: threads) { n in
        let x = inp + n * C, dy = dout + n * C, dx = dinp + n * C
        let r = rstd[n]
        var acc = SIMD8<Float>.zero
        var c = 0
        while c + 8 <= C {
            acc += VectorMath.load(dy, c) * VectorMath.load(weight, c) * VectorMath.load(x, c)
            c += 8
        }
        var s = acc.sum()
        while c < C { s += dy[c] * weight[c] * x[c]; c += 1 }
        let m = s * r * r / Float(C)  // mean(w·dy·x̂) · r, folded
        c = 0
        while c + 8 <= C {
            let g = VectorMath.load(dy, c) * VectorMath.load(weight, c) - VectorMath.load(x, c) * m
            VectorMath.store(VectorMath.load(dx, c) + g * r, dx, c)
            c += 8
        }
        while c < C { dx[c] += (dy[c] * weight[c] - x[c] * m) * r; c += 1 }
    }
    guard let dweight else { return }
    // The weight gradient sums over rows: serial, in row order, for reproducibility.
    for n in 0..<N {
        let x = inp + n * C, dy = dout + n * C
        let r = rstd[n]
        var c = 0
        while c + 8 <= C {
            let g = VectorMath.load(dy, c) * VectorMath.load(x, c) * r
            VectorMath.store(VectorMath.load(dweight, c) + g, dweight, c)
            c += 8
        }
        while c < C { dweight[c] += dy[c] * x[c] * r; c += 1 }
    }
}
