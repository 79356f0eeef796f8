import CBTXKernels

/// Root-mean-square layer norm as in Hugging Face `LlamaRMSNorm`:
/// `out = inp · rsqrt(mean(inp²) + eps) · weight`, with `rstd[n]` kept for the backward pass.
public func rmsnormForward(_ out: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>,
                           _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                           _ N: Int, _ C: Int, eps: Float, threads: Int = 1, kernel: KernelBuild = .best) {
    // out:    [N, C]
    // rstd:   [N]
    // inp:    [N, C]
    // weight: [C]
    parallelFor(N, threads: threads, RMSNormForwardRow(out: out, rstd: rstd, inp: inp, weight: weight, C: C, eps: eps,
                                                       isa: kernel.isa))
}

/// Row `n` of `rmsnormForward` (C, `CBTXKernels/RMSNorm.c`).
struct RMSNormForwardRow: ParallelKernel {
    let out, rstd: UnsafeMutablePointer<Float>, inp, weight: UnsafePointer<Float>, C: Int, eps: Float, isa: Int32

    func callAsFunction(_ n: Int) { btx_rmsnorm_forward(out + n * C, rstd + n, inp + n * C, weight, 1, C, eps, isa) }
}

/// Backward of `rmsnormForward`: `dinp += ∂L/∂inp` (accumulated: the input is the residual
/// stream) and `dweight += Σₙ dout · x̂` (skipped when `dweight` is nil: a frozen gain).
public func rmsnormBackward(_ dinp: UnsafeMutablePointer<Float>, _ dweight: UnsafeMutablePointer<Float>?,
                            _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                            _ weight: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                            _ N: Int, _ C: Int, threads: Int = 1, kernel: KernelBuild = .best) {
    // dinp, dout, inp: [N, C]; dweight, weight: [C]; rstd: [N]
    // dx = r · (w·dy − x̂ · mean(w·dy · x̂)),  x̂ = x · r
    parallelFor(N, threads: threads, RMSNormBackwardRow(dinp: dinp, dout: dout, inp: inp, weight: weight, rstd: rstd, C: C,
                                                        isa: kernel.isa))
    // The weight gradient sums over rows in row order (reproducible); threads take column blocks on
    // the 8-wide grid, so each column is summed the same way whatever the split.
    guard let dweight else { return }
    let parts = max(1, min(threads, C / 64))
    parallelFor(parts, threads: parts, RMSNormWeightGradientColumns(dweight: dweight, dout: dout, inp: inp, rstd: rstd,
                                                                   N: N, C: C, parts: parts))
}

/// Column block `p` of `parts` of `rmsnormBackward`'s weight gradient: `dweight[c] += Σₙ dy·x·r`.
struct RMSNormWeightGradientColumns: ParallelKernel {
    let dweight: UnsafeMutablePointer<Float>, dout, inp, rstd: UnsafePointer<Float>, N: Int, C: Int, parts: Int

    func callAsFunction(_ p: Int) {
        let columns = blockRange(p, of: parts, count: C, align: 8)
        for n in 0..<N {
            let x = inp + n * C, dy = dout + n * C, r = rstd[n]
            var c = columns.lowerBound
            while c + 8 <= columns.upperBound {
                let g = VectorMath.load(dy, c) * VectorMath.load(x, c) * r
                VectorMath.store(VectorMath.load(dweight, c) + g, dweight, c)
                c += 8
            }
            while c < columns.upperBound { dweight[c] += dy[c] * x[c] * r; c += 1 }
        }
    }
}

/// Row `n` of `rmsnormBackward`'s input gradient (C, `CBTXKernels/RMSNorm.c`).
struct RMSNormBackwardRow: ParallelKernel {
    let dinp: UnsafeMutablePointer<Float>, dout, inp, weight, rstd: UnsafePointer<Float>, C: Int, isa: Int32

    func callAsFunction(_ n: Int) { btx_rmsnorm_backward(dinp + n * C, dout + n * C, inp + n * C, weight, rstd + n, 1, C, isa) }
}
