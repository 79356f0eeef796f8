import Dispatch

/// The parts of a training step, for the per-layer time breakdown of the benchmark. `optimizer`
/// covers zeroing the gradients, clipping and the AdamW update; `attentionProjections` the q|k|v
/// and o products; `feedForward` the whole MLP (its products and SwiGLU).
public enum StepPhase: Int, CaseIterable, Sendable {
    case embedding, norms, attentionProjections, rope, attentionCore, feedForward, lmHeadAndLoss, optimizer

    /// Short name for tables and JSON.
    public var name: String {
        ["embedding", "norms", "attn_proj_gemm", "rope", "attn_core", "ffn", "lm_head_loss", "optimizer"][rawValue]
    }
}

/// Accumulates wall-clock seconds per `StepPhase` (forward and backward together). Off unless a
/// caller attaches one to a model; timing costs two clock reads per phase, nothing when off.
public final class PhaseTimer {
    /// Seconds per phase, indexed by `StepPhase.rawValue`.
    public private(set) var seconds = [Double](repeating: 0, count: StepPhase.allCases.count)

    public init() {}

    /// Sets all totals to zero.
    public func reset() {
        for i in seconds.indices { seconds[i] = 0 }
    }

    /// Adds the time `body` takes to `phase`.
    @inline(__always)
    public func measure<R>(_ phase: StepPhase, _ body: () throws -> R) rethrows -> R {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds[phase.rawValue] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return try body()
    }
}

extension Optional where Wrapped == PhaseTimer {
    /// Runs `body`, timing it when a timer is attached.
    @inline(__always)
    func measure<R>(_ phase: StepPhase, _ body: () throws -> R) rethrows -> R {
        switch self {
        case .none: return try body()
        case let .some(timer): return try timer.measure(phase, body)
        }
    }
}
