import BTXStore

/// How one stage of a run ended.
public enum StageOutcome: Hashable, Sendable {
    /// Its key was in the action cache.
    case cached(output: ObjectHash)
    /// It ran and produced `output`.
    case ran(output: ObjectHash, seconds: Double)
    /// It threw; `error` is the one-line message.
    case failed(error: String)
    /// Ctrl-C or SIGTERM stopped it (after it checkpointed).
    case cancelled
    /// It did not run because `input` failed or was cancelled or skipped.
    case skipped(input: String)
    /// It was not started: an earlier stage failed (without `--keep-going`) or the run was cancelled.
    case notStarted

    /// The output manifest, when the stage has one.
    public var output: ObjectHash? {
        switch self {
        case .cached(let output), .ran(let output, _): return output
        default: return nil
        }
    }
}

/// The result of one stage of a run.
public struct StageResult: Hashable, Sendable {
    /// The stage instance name.
    public var stage: String
    /// Its key, when its inputs were available.
    public var key: ObjectHash?
    /// How it ended.
    public var outcome: StageOutcome
}

/// Receives what happens during a run: stage starts and ends, notes, log lines and progress.
/// Called from the stages' threads; implementations synchronise themselves.
public protocol RunObserver: AnyObject, Sendable {
    /// A stage starts computing (it was not cached).
    func stageStarted(_ stage: String, key: ObjectHash)
    /// A stage ended (cached, ran, failed, cancelled or skipped).
    func stageEnded(_ result: StageResult)
    /// Something the user should know: waiting for a lock, a stale lock taken over, a resumed checkpoint.
    func note(_ line: String)
    /// A stage's log line.
    func log(stage: String, line: String)
    /// A stage's progress.
    func progress(stage: String, step: Int, total: Int, fields: [String: Double])
}

/// Drops every event (for contexts built outside a run).
final class SilentObserver: RunObserver {
    func stageStarted(_ stage: String, key: ObjectHash) {}
    func stageEnded(_ result: StageResult) {}
    func note(_ line: String) {}
    func log(stage: String, line: String) {}
    func progress(stage: String, step: Int, total: Int, fields: [String: Double]) {}
}
