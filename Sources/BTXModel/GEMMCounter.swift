import BTXTensor

/// Counts the backward pass's matrix products of one model (calls and multiply-add FLOPs, input
/// gradients and weight gradients apart), so that tests can prove work is skipped, e.g. that a
/// frozen weight's gradient product never runs. An integer add per product: always on.
public final class GEMMCounter {
    /// `dinp = dout · weight` products run, and their FLOPs (2·N·C·OC each).
    public private(set) var inputGradientCalls = 0, inputGradientFLOPs = 0
    /// `dweight += doutᵀ · inp` products run, and their FLOPs.
    public private(set) var weightGradientCalls = 0, weightGradientFLOPs = 0

    public init() {}

    /// Sets every count to zero.
    public func reset() {
        (inputGradientCalls, inputGradientFLOPs, weightGradientCalls, weightGradientFLOPs) = (0, 0, 0, 0)
    }

    /// Counts one backward product of `[N, C] · [OC, C]ᵀ` run elsewhere (e.g. in row chunks, counted once).
    public func count(input: Bool, weight: Bool, _ N: Int, _ C: Int, _ OC: Int) {
        if input { inputGradientCalls += 1; inputGradientFLOPs += 2 * N * C * OC }
        if weight { weightGradientCalls += 1; weightGradientFLOPs += 2 * N * C * OC }
    }

    /// `BTXTensor.matmulBackward`, counted: the weight-gradient product runs only for a non-nil
    /// `dweight` (nil: a frozen or inference-only weight), the input gradient only for a non-nil `dinp`.
    @inline(__always)
    public func matmulBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>?,
                               _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                               _ weight: UnsafePointer<Float>, _ N: Int, _ C: Int, _ OC: Int,
                               accumulateInput: Bool = false, threads: Int = 1) {
        count(input: dinp != nil, weight: dweight != nil, N, C, OC)
        BTXTensor.matmulBackward(dinp, dweight, dout, inp, weight, N, C, OC, accumulateInput: accumulateInput, threads: threads)
    }
}
