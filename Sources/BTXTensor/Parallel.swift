import CBLAS
import Dispatch

/// Runs `body(i)` for every `i` in `0..<count` on up to `threads` threads.
///
/// Items are dealt round-robin to a fixed set of workers, and each item must write only its own
/// outputs: the result is then bitwise the same for every thread count.
@inline(__always)
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let workers = min(max(1, threads), count)
    if workers <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    if ThreadPool.shared.run(count: count, workers: workers, body) { return }
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        var i = worker
        while i < count {
            body(i)
            i += workers
        }
    }
}

/// Runs `body` with OpenBLAS restricted to one thread, for regions that call many small GEMMs from
/// several threads of their own (per-head attention). Restores the previous count afterwards.
///
/// NOTE: OpenBLAS's thread count is process-wide; nesting its threads inside ours would
/// oversubscribe the cores, and its per-call threading does not pay on 256×64 products anyway.
public func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
    let previous = openblas_get_num_threads()
    if previous == 1 { return try body() }
    openblas_set_num_threads(1)
    defer { openblas_set_num_threads(previous) }
    return try body()
}
