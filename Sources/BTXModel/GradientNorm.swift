import BTXTensor

/// The global L2 norm of all gradients and clipping to a maximum norm.
///
/// The sum of squares runs over fixed chunks of the flat gradient in parallel and adds the chunk
/// partials in chunk order, so the norm is bitwise the same for every thread count.
public final class GradientNorm {
    static let chunk = 65_536
    let partials: Buffer<Double>
    let threads: Int

    /// Scratch for a gradient of `count` floats.
    public init(count: Int, threads: Int = 2) {
        partials = Buffer(count: (count + Self.chunk - 1) / Self.chunk)
        self.threads = threads
    }

    /// √(Σ g²) over every gradient.
    public func norm(_ g: ParameterSet) -> Double {
        precondition(partials.count == (g.count + Self.chunk - 1) / Self.chunk, "gradient size changed")
        let parts = partials.pointer
        parallelFor(partials.count, threads: threads, SumOfSquaresChunk(partials: parts, values: g.storage, count: g.count))
        var total = 0.0
        for c in 0..<partials.count { total += parts[c] }
        return total.squareRoot()
    }

    /// Scales all gradients by `maxNorm / norm` when the norm exceeds `maxNorm` (> 0); returns the
    /// norm before clipping.
    @discardableResult
    public func clip(_ g: ParameterSet, maxNorm: Double) -> Double {
        let n = norm(g)
        guard maxNorm > 0, n > maxNorm else { return n }
        parallelFor(partials.count, threads: threads, ScaleChunk(values: g.storage, count: g.count, scale: Float(maxNorm / n)))
        return n
    }
}

/// `partials[c]` = Σ values² over chunk `c` of `GradientNorm.chunk` floats.
struct SumOfSquaresChunk: ParallelKernel {
    let partials: UnsafeMutablePointer<Double>, values: UnsafePointer<Float>, count: Int

    func callAsFunction(_ c: Int) {
        let lo = c * GradientNorm.chunk
        partials[c] = VectorMath.sumOfSquares(values + lo, min(GradientNorm.chunk, count - lo))
    }
}

/// Chunk `c` of `values` multiplied by `scale`.
struct ScaleChunk: ParallelKernel {
    let values: UnsafeMutablePointer<Float>, count: Int, scale: Float

    func callAsFunction(_ c: Int) {
        let lo = c * GradientNorm.chunk, hi = min(count, lo + GradientNorm.chunk)
        for i in lo..<hi { values[i] *= scale }
    }
}
