import Foundation

/// Linear warm-up to the peak, then cosine decay to `minRatio` × peak at the last step
/// (the schedule of the BTX paper, §4.1: cosine to 10 % of the peak).
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    /// Peak learning rate, reached at the end of the warm-up.
    public var peak: Double
    /// Steps of linear warm-up (step `s < warmup` uses `peak · (s + 1) / warmup`).
    public var warmupSteps: Int
    /// Total steps of the run; the cosine ends at `totalSteps − 1`.
    public var totalSteps: Int
    /// Final learning rate as a fraction of the peak (0.1 in the BTX paper).
    public var minRatio: Double = 0.1

    /// A schedule; values are checked by `validate`.
    public init(peak: Double, warmupSteps: Int, totalSteps: Int, minRatio: Double = 0.1) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minRatio = minRatio
    }

    /// The learning rate of step `step` (0-based).
    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        let decaySteps = max(1, totalSteps - 1 - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(decaySteps))
        let floor = peak * minRatio
        return floor + 0.5 * (peak - floor) * (1 + cos(Double.pi * progress))
    }

    /// Throws naming the first field out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ reason: String) throws {
            if !ok { throw ModelError.invalidHyperparameter(field: field, reason: reason) }
        }
        try check(peak > 0 && peak.isFinite, "learning_rate", "must be positive, got \(peak)")
        try check(warmupSteps >= 0, "warmup_steps", "must be ≥ 0, got \(warmupSteps)")
        try check(totalSteps > 0, "steps", "must be positive, got \(totalSteps)")
        try check((0...1).contains(minRatio), "min_lr_ratio", "must be in [0, 1], got \(minRatio)")
    }
}
