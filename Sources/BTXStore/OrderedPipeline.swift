import Foundation

/// Runs items `0..<count` through two steps on several threads: `produce` (parallel: decompress or
/// compress a chunk) and `consume` (sequential: hash, write or hand over a chunk, strictly in item
/// order, one item at a time). Whichever thread is free consumes the next item if it is ready and
/// nobody else is consuming, and otherwise produces ahead of the consumer, at most `window` items
/// ahead (so ring buffers of `window` slots suffice). A sequential step such as SHA-256 therefore
/// runs on one core at a time while the other cores work ahead of it, and no core idles.
///
/// `claim` runs under the pipeline's lock, in item order, just before an item's `produce`: the
/// place for sequential bookkeeping such as walking the chunk records of a file.
/// The first error stops every thread and is rethrown; later errors are dropped.
final class OrderedPipeline {
    private let count: Int
    private let window: Int
    private let condition = NSCondition()
    private var claimed = 0, consumed = 0
    private var consuming = false
    private var ready: [Bool]        // ring of `window` flags: item i has been produced
    private var failure: Error?

    private init(count: Int, window: Int) {
        self.count = count
        self.window = window
        ready = [Bool](repeating: false, count: window)
    }

    /// Runs the pipeline on `workers` threads (the caller's among them); returns when every item has
    /// been consumed, or throws the first error. `produce` gets the item and the worker's index in
    /// `0..<workers`, for per-worker scratch space.
    static func run(count: Int, workers: Int, window: Int,
                    claim: (_ item: Int) throws -> Void,
                    produce: (_ item: Int, _ worker: Int) throws -> Void,
                    consume: (_ item: Int) throws -> Void) throws {
        precondition(workers >= 1 && window >= 1, "pipeline needs a worker and a window slot")
        guard count > 0 else { return }
        let pipeline = OrderedPipeline(count: count, window: window)
        // NOTE: when the system is busy, concurrentPerform may run the workers one after another on
        // one thread; a worker alone still finishes everything, as it only ever waits for work
        // that another running worker has claimed.
        DispatchQueue.concurrentPerform(iterations: min(workers, count)) { worker in
            pipeline.work(worker, claim: claim, produce: produce, consume: consume)
        }
        if let failure = pipeline.failure { throw failure }
    }

    /// One worker's loop: consume when possible, else claim and produce, else wait.
    private func work(_ worker: Int, claim: (Int) throws -> Void, produce: (Int, Int) throws -> Void,
                      consume: (Int) throws -> Void) {
        condition.lock()
        defer { condition.unlock() }
        while failure == nil && consumed < count {
            if !consuming && consumed < claimed && ready[consumed % window] {
                let item = consumed
                consuming = true
                condition.unlock()
                let error = Self.attempt { try consume(item) }
                condition.lock()
                consuming = false
                ready[item % window] = false
                consumed += 1
                finish(error)
            } else if claimed < count && claimed < consumed + window {
                let item = claimed
                if let error = Self.attempt({ try claim(item) }) { finish(error); break }
                claimed += 1
                condition.unlock()
                let error = Self.attempt { try produce(item, worker) }
                condition.lock()
                ready[item % window] = true
                finish(error)
            } else {
                condition.wait()
            }
        }
    }

    /// Records the first error and wakes every waiting worker (new work, or time to stop).
    private func finish(_ error: Error?) {
        if failure == nil, let error { failure = error }
        condition.broadcast()
    }

    private static func attempt(_ body: () throws -> Void) -> Error? {
        do { try body(); return nil } catch { return error }
    }
}
