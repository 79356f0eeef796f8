import BTXTensor
import Dispatch

/// Fills `tokens` (`[B, T+1]`) with micro-batch `microstep` of optimizer step `step`. A pure function
/// of its arguments (the data loader), so a resumed run sees exactly the same data.
public typealias BatchSource = (_ step: Int, _ microstep: Int, _ tokens: UnsafeMutableBufferPointer<Int32>) throws -> Void

/// Trains a `LlamaModel` with AdamW, gradient clipping, warm-up + cosine schedule and gradient
/// accumulation. A run is a function of (initial parameters, data, hyper-parameters, seed); its
/// whole state can be exported and restored so that a resumed run is bitwise identical to an
/// uninterrupted one; the thread count changes nothing (tested for dense and every MoE routing).
public final class Trainer {
    /// The model being trained (its `parameters` are updated in place).
    public let model: LlamaModel
    /// The optimizer and its moments.
    public let optimizer: AdamW
    /// The run's settings.
    public let hyper: TrainingHyperparameters
    /// Optimizer steps completed; the next step to run.
    public var step: Int { optimizer.step }
    /// Training tokens consumed so far (the data position).
    public private(set) var tokensSeen = 0
    /// The run's generator, saved with the state.
    public var rng: SplitMix64
    let batch: Buffer<Int32>  // [B, T+1]
    let gradNorm: GradientNorm

    /// A fresh run (step 0, zero moments) on `model`, which must be built for training with the
    /// run's batch size and sequence length.
    public init(model: LlamaModel, hyper: TrainingHyperparameters) throws {
        try hyper.validate()
        guard model.gradients != nil, model.batchSize == hyper.batchSize, model.sequenceLength == hyper.sequenceLength else {
            throw ModelError.badInput("the model is not built for training at batch \(hyper.batchSize) × \(hyper.sequenceLength)")
        }
        self.model = model
        self.hyper = hyper
        optimizer = AdamW(parameters: model.parameters, hyper: hyper.adamW, threads: model.threads)
        optimizer.frozen = model.frozen  // no gradient computed → no update either
        rng = SplitMix64(seed: hyper.seed)
        batch = Buffer(count: hyper.batchSize * (hyper.sequenceLength + 1))
        gradNorm = GradientNorm(count: model.parameters.count, threads: model.threads)
    }

    /// Runs one optimizer step (all its micro-batches) and returns its metrics.
    @discardableResult
    public func trainStep(batches: BatchSource) throws -> StepMetrics {
        let start = DispatchTime.now().uptimeNanoseconds
        let s = step, micro = hyper.gradientAccumulation
        let tokens = UnsafeMutableBufferPointer(start: batch.pointer, count: batch.count)
        model.timer.measure(.optimizer) { model.zeroGradients() }
        var loss = 0.0, auxiliary = 0.0
        for m in 0..<micro {
            try batches(s, m, tokens)
            // Forward and backward in one call: the head's logits are computed once, chunk by chunk.
            let l = try model.forwardBackward(sequences: UnsafeBufferPointer(tokens), lossScale: 1 / Float(micro))
            guard l.isFinite, model.auxiliaryLoss.isFinite else { throw ModelError.nonFiniteLoss(step: s) }
            loss += Double(l)
            auxiliary += Double(model.auxiliaryLoss)
        }
        let lr = hyper.schedule.learningRate(at: s)
        let norm = model.timer.measure(.optimizer) { () -> Double in
            for name in optimizer.frozen { model.gradients!.pointer(name).update(repeating: 0, count: model.gradients!.entry(name)!.count) }
            let norm = gradNorm.clip(model.gradients!, maxNorm: hyper.gradientClip)
            optimizer.update(model.parameters, gradients: model.gradients!, lr: lr)
            return norm
        }
        let stepTokens = micro * hyper.batchSize * hyper.sequenceLength
        tokensSeen += stepTokens
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return StepMetrics(step: s, loss: loss / Double(micro), auxiliaryLoss: auxiliary / Double(micro), gradNorm: norm,
                           learningRate: lr, tokensPerSecond: Double(stepTokens) / seconds, seconds: seconds)
    }

    /// Trains until `hyper.steps` steps are done, or `shouldStop` says so (checked between steps,
    /// e.g. to checkpoint and exit on Ctrl-C). Calls `onStep` after every step.
    public func train(batches: BatchSource, shouldStop: () -> Bool = { false },
                      onStep: (StepMetrics) throws -> Void = { _ in }) throws {
        while step < hyper.steps && !shouldStop() {
            try onStep(try trainStep(batches: batches))
        }
    }

    /// The whole state (see `TrainingState` for the names).
    public func exportState() -> TrainingState {
        var state = TrainingState(scalars: ["step": step, "tokens_seen": tokensSeen,
                                            "rng_state": Int(Int64(bitPattern: rng.state))])
        model.parameters.export(into: &state)
        optimizer.firstMoment.export(into: &state, prefix: TrainingState.firstMomentPrefix)
        optimizer.secondMoment.export(into: &state, prefix: TrainingState.secondMomentPrefix)
        return state
    }

    /// Restores a state exported by `exportState` of a run with the same architecture.
    public func restore(_ state: TrainingState) throws {
        guard let s = state.scalars["step"], let seen = state.scalars["tokens_seen"],
              let r = state.scalars["rng_state"], s >= 0, seen >= 0 else {
            throw ModelError.badState("needs scalars step, tokens_seen, rng_state")
        }
        // Check everything before writing anything: a bad state leaves the run untouched.
        try model.parameters.check(state)
        try optimizer.firstMoment.check(state, prefix: TrainingState.firstMomentPrefix)
        try optimizer.secondMoment.check(state, prefix: TrainingState.secondMomentPrefix)
        try model.parameters.restore(from: state)
        try optimizer.firstMoment.restore(from: state, prefix: TrainingState.firstMomentPrefix)
        try optimizer.secondMoment.restore(from: state, prefix: TrainingState.secondMomentPrefix)
        optimizer.step = s
        tokensSeen = seen
        rng = SplitMix64(seed: UInt64(bitPattern: Int64(r)))
    }
}
