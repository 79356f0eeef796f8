import Foundation
import BTXTensor

/// Finite-difference checks for backward passes: perturb each input element by ±ε, recompute a
/// scalar loss in double precision, and compare with the analytic gradient.
public enum GradientCheck {
    /// max |analytic − numeric| / max|numeric| over all elements of `x` (0 when they agree exactly).
    /// `loss` must recompute the whole forward pass from `x`.
    public static func relativeError(_ x: [Float], analytic: [Float], eps: Float = 1e-2,
                                     loss: ([Float]) -> Double) -> Double {
        precondition(x.count == analytic.count, "gradient size mismatch")
        var probe = x
        var maxDiff = 0.0, maxNumeric = 1e-6
        for i in 0..<x.count {
            probe[i] = x[i] + eps
            let plus = loss(probe)
            probe[i] = x[i] - eps
            let minus = loss(probe)
            probe[i] = x[i]
            let numeric = (plus - minus) / (2 * Double(eps))
            maxDiff = max(maxDiff, abs(numeric - Double(analytic[i])))
            maxNumeric = max(maxNumeric, abs(numeric))
        }
        return maxDiff / maxNumeric
    }

    /// `count` normal(0, `std`) floats from a seeded generator.
    public static func randomFloats(_ count: Int, seed: UInt64, std: Float = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            // Box–Muller on two uniforms; reproducible and good enough for test data.
            let u1 = max(rng.nextUniform(), 1e-12), u2 = rng.nextUniform()
            return std * Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
    }

    /// Σ out[i] · w[i] in double: a scalar loss whose gradient w.r.t. `out` is `w`.
    public static func project(_ out: [Float], _ w: [Float]) -> Double {
        zip(out, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
}
