/// Everything that defines a training run besides the initial parameters and the data.
public struct TrainingHyperparameters: Codable, Equatable, Sendable {
    /// Optimizer steps in the run (the schedule's length).
    public var steps: Int
    /// B: sequences per micro-batch.
    public var batchSize: Int
    /// T: tokens per sequence (each micro-batch reads B × (T + 1) tokens).
    public var sequenceLength: Int
    /// Micro-batches summed into one optimizer step (effective batch = B × this).
    public var gradientAccumulation: Int = 1
    /// Peak learning rate.
    public var learningRate: Double = 3e-4
    /// Linear warm-up steps before the cosine decay.
    public var warmupSteps: Int = 0
    /// Final learning rate as a fraction of the peak (BTX: cosine to 10 %).
    public var minLRRatio: Double = 0.1
    /// AdamW settings (BTX defaults: β₂ 0.95, weight decay 0.1).
    public var adamW = AdamWHyperparameters()
    /// Clip the global gradient norm to this (1.0 as in Llama); 0 turns clipping off.
    public var gradientClip: Double = 1.0
    /// Seed of the run's generator (reserved for stochastic parts such as sampled routing).
    public var seed: UInt64 = 0

    /// A run of `steps` steps on micro-batches of `batchSize × sequenceLength`; other fields default.
    public init(steps: Int, batchSize: Int, sequenceLength: Int, gradientAccumulation: Int = 1,
                learningRate: Double = 3e-4, warmupSteps: Int = 0, minLRRatio: Double = 0.1,
                adamW: AdamWHyperparameters = .init(), gradientClip: Double = 1.0, seed: UInt64 = 0) {
        self.steps = steps
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.gradientAccumulation = gradientAccumulation
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.minLRRatio = minLRRatio
        self.adamW = adamW
        self.gradientClip = gradientClip
        self.seed = seed
    }

    /// The learning-rate schedule these settings describe.
    public var schedule: LearningRateSchedule {
        LearningRateSchedule(peak: learningRate, warmupSteps: warmupSteps, totalSteps: steps, minRatio: minLRRatio)
    }

    /// Throws naming the first field out of range.
    public func validate() throws {
        for (v, name) in [(batchSize, "batch_size"), (sequenceLength, "sequence_length"),
                          (gradientAccumulation, "gradient_accumulation")] where v <= 0 {
            throw ModelError.invalidHyperparameter(field: name, reason: "must be positive, got \(v)")
        }
        if !(gradientClip >= 0) {
            throw ModelError.invalidHyperparameter(field: "gradient_clip", reason: "must be ≥ 0, got \(gradientClip)")
        }
        try schedule.validate()
        try adamW.validate()
    }
}

/// What one optimizer step reports.
public struct StepMetrics: Sendable, Equatable {
    /// The step just completed (0-based).
    public var step: Int
    /// Mean cross-entropy over the step's micro-batches.
    public var loss: Double
    /// Mean of the feed-forward layers' own loss terms (mixture-of-experts balancing; 0 when dense).
    public var auxiliaryLoss: Double
    /// Global gradient norm before clipping.
    public var gradNorm: Double
    /// Learning rate used for the update.
    public var learningRate: Double
    /// Training tokens processed per second of wall-clock time in this step.
    public var tokensPerSecond: Double
    /// Wall-clock seconds of the step.
    public var seconds: Double
}
