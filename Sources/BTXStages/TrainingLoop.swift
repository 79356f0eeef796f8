import BTXData
import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// The training part shared by the `train` stage (dense) and the MoE `finetune` stage: hyper-parameters
/// from stage params, data from `tokens` inputs, checkpoints into the store, resume, metrics and progress.
///
/// A run is a pure function of (initial parameters, data, hyper-parameters): the batch of step s is
/// recomputed from s alone (`BatchSampler`), and a checkpoint holds the whole `TrainingState`
/// (parameters, AdamW moments, step, RNG) plus the losses so far, so a run resumed from any checkpoint
/// ends with bitwise the same parameters and the same loss curve as an uninterrupted one.
struct TrainingLoop {
    /// The stage being run.
    let context: StageContext
    /// The trainer (its model may use any feed-forward layer: dense or MoE).
    let trainer: Trainer
    /// Training batches (step-addressed).
    let sampler: BatchSampler
    /// Save a checkpoint every this many steps (0: only on cancel).
    let checkpointEvery: Int
    /// Training FLOPs per token (for the history and MFU-style metrics).
    let flopsPerToken: Double
    /// Called with the index of the next step before it runs (e.g. an MoE runtime's step, which sets
    /// the Gumbel temperature and noise), also right after a resume.
    var beforeStep: (Int) -> Void = { _ in }

    // MARK: parameters

    /// Reads (and so accepts) every training parameter; call from `validate`.
    static func validate(_ params: StageParams) throws {
        _ = try hyperparameters(params)
        _ = try params.int("checkpoint_every", default: 50, in: 0...1_000_000)
        _ = try params.array("weights", default: [])
        _ = try params.int("data_seed", default: 0, in: 0...Int.max)
        _ = try recomputesActivations(params)
    }

    /// Whether the model recomputes its activations in the backward pass (`recompute_activations`).
    static func recomputesActivations(_ params: StageParams) throws -> Bool {
        try params.bool("recompute_activations", default: false)
    }

    /// The run's hyper-parameters from stage params (names as in the pipeline spec).
    static func hyperparameters(_ p: StageParams) throws -> TrainingHyperparameters {
        let adam = AdamWHyperparameters(beta1: try p.double("beta1", default: 0.9, in: 0...0.9999),
                                        beta2: try p.double("beta2", default: 0.95, in: 0...0.9999),
                                        weightDecay: try p.double("weight_decay", default: 0.1, in: 0...10))
        let steps = try p.int("steps", in: 1...10_000_000)
        return TrainingHyperparameters(
            steps: steps,
            batchSize: try p.int("batch_size", default: 8, in: 1...4096),
            sequenceLength: try p.int("sequence_length", default: 128, in: 2...65_536),
            gradientAccumulation: try p.int("gradient_accumulation", default: 1, in: 1...1024),
            learningRate: try p.double("learning_rate", default: 3e-3, in: 1e-8...10),
            warmupSteps: try warmupSteps(p, steps: steps),
            minLRRatio: try p.double("min_lr_ratio", default: 0.1, in: 0...1),
            adamW: adam,
            gradientClip: try p.double("gradient_clip", default: 1.0, in: 0...1e6),
            seed: UInt64(try p.int("seed", default: 0, in: 0...Int.max)))
    }

    /// `warmup_steps` (default min(20, steps / 10)) for a run of `steps`, at most `steps`. A stage whose
    /// steps come from `match` calls it again with the matched count: the placeholder `steps: 1` must
    /// not cut the warmup the spec asks for.
    static func warmupSteps(_ p: StageParams, steps: Int) throws -> Int {
        min(steps, try p.int("warmup_steps", default: min(20, steps / 10), rule: "min(20, steps / 10)", in: 0...10_000_000))
    }

    /// The training sampler over the `data` inputs (one tokens manifest per domain) with the
    /// `weights` parameter (uniform when empty).
    static func sampler(_ context: StageContext, hyper: TrainingHyperparameters) throws -> BatchSampler {
        let corpora = try TokenCorpus.inputs(context, name: "data")
        let given = try context.params.array("weights", default: []).enumerated().map { i, w -> Double in
            guard let d = w.doubleValue else {
                throw StageError.badParameter(field: "weights[\(i)]", expected: "a number", actual: w.canonicalText)
            }
            return d
        }
        guard given.isEmpty || given.count == corpora.count else {
            throw StageError.badParameter(field: "weights", expected: "\(corpora.count) numbers (one per data input)",
                                          actual: "\(given.count)")
        }
        let weights = given.isEmpty ? Array(repeating: 1.0, count: corpora.count) : given
        let seed = UInt64(try context.params.int("data_seed", default: 0))
        do {
            return try BatchSampler(domains: corpora.map(\.train), weights: weights, seed: seed,
                                    batchSize: hyper.batchSize, sequenceLength: hyper.sequenceLength)
        } catch {
            throw StageError.failed("training data: \(error)")
        }
    }

    /// Training FLOPs per token of a dense Llama at sequence length `T`: 6 per matmul weight (forward
    /// + backward) plus causal attention (QKᵀ and AV over T/2 keys on average, times 3 for backward).
    static func denseFlopsPerToken(_ c: LlamaConfig, sequenceLength T: Int) -> Double {
        6 * Double(LlamaParameters.matmulParameterCount(c)) + 6 * Double(c.numHiddenLayers * T * c.hiddenSize)
    }

    // MARK: running

    /// Runs (or resumes) training to the end and returns the run for the model's history.
    /// On cancellation saves a checkpoint and throws `StageError.cancelled`.
    func run() throws -> TrainingHistory.Run {
        let hyper = trainer.hyper
        if trainer.model.recomputesActivations { context.log("recomputing activations in the backward pass (recompute_activations)") }
        var (losses, rows) = try resume()
        let micro = hyper.gradientAccumulation
        let batches: BatchSource = { step, m, out in self.sampler.fill(step: step * micro + m, into: out) }
        var recent: [StepMetrics] = []
        var timing: [JSONValue] = [], wall = 0.0
        beforeStep(trainer.step)
        try trainer.train(batches: batches, shouldStop: { context.isCancelled }) { metrics in
            losses.append(metrics.loss)
            recent.append(metrics)
            wall += metrics.seconds
            if MetricsFile.keeps(step: metrics.step + 1, of: hyper.steps) {
                rows.append(row(metrics))
                timing.append([.int(Int64(metrics.step + 1)), .double(wall), .double(metrics.tokensPerSecond)])
            }
            beforeStep(metrics.step + 1)
            context.progress(step: metrics.step + 1, total: hyper.steps,
                             fields: ["loss": metrics.loss, "lr": metrics.learningRate, "tokens_per_s": metrics.tokensPerSecond])
            if checkpointEvery > 0, (metrics.step + 1) % checkpointEvery == 0, metrics.step + 1 < hyper.steps {
                try saveCheckpoint(losses, rows: rows)
            }
            if recent.count == 1 || (metrics.step + 1) % max(1, hyper.steps / 10) == 0 { log(metrics) }
        }
        if trainer.step < hyper.steps {
            try saveCheckpoint(losses, rows: rows)
            context.log("cancelled at step \(trainer.step) of \(hyper.steps); checkpoint saved")
            throw StageError.cancelled
        }
        recordMetrics(recent, losses: losses)
        context.metric("timing", .array(timing))
        let tokens = hyper.steps * micro * hyper.batchSize * hyper.sequenceLength
        var run = TrainingHistory.Run(stage: context.stage, steps: hyper.steps, tokens: tokens,
                                      flops: flopsPerToken * Double(tokens), curve: TrainingHistory.subsample(losses))
        run.metrics = try MetricsFile.put(rows, store: context.store)
        return run
    }

    /// The `metrics.jsonl` row of a step: only deterministic columns (see `MetricsFile`).
    private func row(_ m: StepMetrics) -> JSONValue {
        let hyper = trainer.hyper
        let tokens = (m.step + 1) * hyper.gradientAccumulation * hyper.batchSize * hyper.sequenceLength
        return .object(["step": .int(Int64(m.step + 1)), "tokens": .int(Int64(tokens)),
                        "flops": .double(flopsPerToken * Double(tokens)), "loss": .double(m.loss),
                        "lr": .double(m.learningRate), "grad_norm": .double(m.gradNorm), "aux_loss": .double(m.auxiliaryLoss)])
    }

    /// Restores the last checkpoint if there is one; returns the losses of the steps already done and
    /// the `metrics.jsonl` rows taken so far.
    private func resume() throws -> ([Double], [JSONValue]) {
        guard let checkpoint = try context.loadCheckpoint() else { return ([], []) }
        var state = TrainingState()
        for (name, entry) in checkpoint.tensors.sorted(by: { $0.key < $1.key }) {
            // NOTE: a damaged checkpoint tensor (quarantined as it is read) must not fail every rerun:
            // the checkpoint only saves time, so the run starts over without it.
            do {
                state.tensors[name] = TrainingState.Tensor(shape: entry.shape, values: try context.store.floats(entry))
            } catch let error as StoreError {
                context.log("checkpoint tensor \(name) unreadable (\(error)); ignoring the checkpoint and starting from scratch")
                return ([], [])
            }
        }
        for (name, value) in checkpoint.metadata["scalars"]?.objectValue ?? [:] {
            state.scalars[name] = value.intValue
        }
        let losses = (checkpoint.metadata["losses"]?.arrayValue ?? []).compactMap(\.doubleValue)
        do { try trainer.restore(state) } catch {
            context.log("checkpoint does not fit this run (\(error)); starting from scratch")
            return ([], [])
        }
        guard losses.count == trainer.step else {
            throw StageError.failed("checkpoint at step \(trainer.step) holds \(losses.count) losses")
        }
        context.log("resuming at step \(trainer.step) of \(trainer.hyper.steps)")
        return (losses, checkpoint.metadata["rows"]?.arrayValue ?? [])
    }

    /// Stores the whole training state (and the metrics rows so far) as this stage's checkpoint.
    private func saveCheckpoint(_ losses: [Double], rows: [JSONValue]) throws {
        let state = trainer.exportState()
        var tensors: [String: TensorEntry] = [:]
        for (name, t) in state.tensors { tensors[name] = try context.store.putTensor(t.values, shape: t.shape) }
        let scalars = state.scalars.mapValues { JSONValue.int(Int64($0)) }
        try context.saveCheckpoint(Manifest(kind: "checkpoint", tensors: tensors,
                                            metadata: ["scalars": .object(scalars), "losses": .array(losses.map { .double($0) }),
                                                       "rows": .array(rows)]))
    }

    private func log(_ m: StepMetrics) {
        context.log(String(format: "step %d/%d loss %.4f lr %.2e grad-norm %.3f %.0f tok/s",
                           m.step + 1, trainer.hyper.steps, m.loss, m.learningRate, m.gradNorm, m.tokensPerSecond))
    }

    /// Run-record metrics: final loss, throughput of this process's steps and a subsampled curve.
    private func recordMetrics(_ recent: [StepMetrics], losses: [Double]) {
        context.metric("final_loss", .double(losses.last ?? .nan))
        context.metric("steps", .int(Int64(losses.count)))
        guard !recent.isEmpty else { return }
        let seconds = recent.reduce(0) { $0 + $1.seconds }
        let tokens = Double(recent.count * trainer.hyper.gradientAccumulation * trainer.hyper.batchSize * trainer.hyper.sequenceLength)
        context.metric("tokens_per_s", .double(tokens / max(seconds, 1e-9)))
        context.metric("gflops_per_s", .double(tokens * flopsPerToken / max(seconds, 1e-9) / 1e9))
        let every = max(1, recent.count / TrainingHistory.curvePoints)
        context.metric("curve", .array(recent.enumerated().filter { $0.offset % every == 0 || $0.offset == recent.count - 1 }.map { _, m in
            .object(["step": .int(Int64(m.step)), "loss": .double(m.loss), "lr": .double(m.learningRate),
                     "grad_norm": .double(m.gradNorm), "tokens_per_s": .double(m.tokensPerSecond)])
        }))
    }
}
