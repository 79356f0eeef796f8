import BTXPipeline
import BTXStore
import Foundation

/// What went into a model: one entry per training run of its lineage (the seed's pretraining, an
/// expert's domain training, the MoE finetune, …), each with its compute and a subsampled loss curve.
///
/// Kept in the model manifest so that evaluation and the report can compare models at matched
/// compute without reading run records. Everything in it is deterministic (no wall times): a stage's
/// output manifest must be the same bytes on every run.
public struct TrainingHistory: Codable, Equatable, Sendable {
    /// One training run.
    public struct Run: Codable, Equatable, Sendable {
        /// The stage instance that ran it, e.g. "expert[code]".
        public var stage: String
        /// Optimizer steps.
        public var steps: Int
        /// Training tokens processed.
        public var tokens: Int
        /// Training FLOPs (6 · matmul parameters active per token · tokens, plus attention).
        public var flops: Double
        /// (step, loss) pairs, subsampled to at most `TrainingHistory.curvePoints`.
        public var curve: [[Double]]
        /// The run's `metrics.jsonl` object (per-step loss, learning rate, grad-norm, …; see `MetricsFile`).
        public var metrics: ObjectHash?

        /// A run record.
        public init(stage: String, steps: Int, tokens: Int, flops: Double, curve: [[Double]]) {
            self.stage = stage
            self.steps = steps
            self.tokens = tokens
            self.flops = flops
            self.curve = curve
        }
    }

    /// The runs, oldest first; a merged model lists each parent's runs once.
    public var runs: [Run]

    /// Most points kept per loss curve.
    static let curvePoints = 64

    /// An empty history (a fresh model).
    public init(runs: [Run] = []) { self.runs = runs }

    /// Total training FLOPs of the lineage.
    public var flops: Double { runs.reduce(0) { $0 + $1.flops } }

    /// Total training tokens of the lineage.
    public var tokens: Int { runs.reduce(0) { $0 + $1.tokens } }

    /// The union of several parents' histories, each run once (by stage name), in first-seen order:
    /// the seed's pretraining is shared by every expert and must be counted once.
    public static func merged(_ parents: [TrainingHistory]) -> TrainingHistory {
        var seen = Set<String>(), runs: [Run] = []
        for run in parents.flatMap(\.runs) where seen.insert(run.stage).inserted { runs.append(run) }
        return TrainingHistory(runs: runs)
    }

    /// The history as JSON for a manifest.
    func json() throws -> JSONValue { try JSONValue(encoding: self) }

    /// Reads a history written by `json()`.
    init(json: JSONValue) throws {
        do { self = try json.decode(TrainingHistory.self) } catch {
            throw StageError.failed("model manifest has a malformed history: \(error)")
        }
    }

    /// Keeps at most `curvePoints` evenly spaced points of `losses` (always the first and last).
    static func subsample(_ losses: [Double]) -> [[Double]] {
        guard losses.count > curvePoints else { return losses.enumerated().map { [Double($0), $1] } }
        return (0..<curvePoints).map { i in
            let step = i * (losses.count - 1) / (curvePoints - 1)
            return [Double(step), losses[step]]
        }
    }
}
