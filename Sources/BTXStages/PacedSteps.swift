import BTXPipeline
import BTXStore
import Foundation

/// The optional `steps` / `sleep_ms` parameters of the small text kinds: `steps` steps of `sleep_ms`
/// each, with a checkpoint after every step, so that interruption and resume can be exercised end to end.
enum PacedSteps {
    /// Reads (and so accepts) `steps` and `sleep_ms`.
    static func validate(_ params: StageParams) throws {
        _ = try params.int("steps", default: 0, in: 0...1_000_000)
        _ = try params.int("sleep_ms", default: 0, in: 0...60_000)
    }

    /// Runs the steps, continuing after the last checkpointed one.
    static func run(_ context: StageContext) throws {
        let steps = try context.params.int("steps", default: 0)
        let sleep = try context.params.int("sleep_ms", default: 0)
        var step = Int(try context.loadCheckpoint()?.metadata["step"]?.intValue ?? 0)
        if step > 0 { context.log("resuming at step \(step) of \(steps)") }
        while step < steps {
            if context.isCancelled {
                context.log("cancelled at step \(step) of \(steps)")
                throw StageError.cancelled
            }
            usleep(useconds_t(sleep * 1000))
            step += 1
            try context.saveCheckpoint(Manifest(kind: "checkpoint", metadata: ["step": .int(Int64(step))]))
            context.progress(step: step, total: steps)
        }
    }
}
