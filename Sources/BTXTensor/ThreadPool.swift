import Dispatch
import Foundation

/// A process-wide set of parked worker threads that `parallelFor` hands work to without allocating
/// (GCD's `concurrentPerform` allocates a few blocks per call, and the training step must not).
///
/// The calling thread runs worker 0 itself; workers 1… wake on their own semaphore, run, and
/// signal completion. One caller at a time: a second, concurrent caller gets `false` from `run`
/// and falls back to GCD.
final class ThreadPool: @unchecked Sendable {
    /// The pool `parallelFor` uses; its threads are created on first use and never exit.
    static let shared = ThreadPool()

    private let busy = NSLock()
    private var wake = [DispatchSemaphore]()
    private let finished = DispatchSemaphore(value: 0)
    private var job: ((Int) -> Void)?
    private var count = 0, workers = 0

    /// Runs `body(i)` for `i` in `0..<count`, dealt round-robin to `workers` threads (worker 0 is the
    /// calling thread), and waits for all of them. Returns false without running anything when
    /// another caller holds the pool.
    func run(count: Int, workers: Int, _ body: (Int) -> Void) -> Bool {
        guard busy.try() else { return false }
        defer { busy.unlock() }
        while wake.count < workers - 1 { spawnWorker() }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            self.count = count
            self.workers = workers
            for w in 1..<workers { wake[w - 1].signal() }
            work(0)
            for _ in 1..<workers { finished.wait() }
            job = nil
        }
        return true
    }

    /// Worker `worker`'s share of the current job.
    private func work(_ worker: Int) {
        guard let job else { return }
        var i = worker
        while i < count {
            job(i)
            i += workers
        }
    }

    private func spawnWorker() {
        let semaphore = DispatchSemaphore(value: 0), index = wake.count + 1
        wake.append(semaphore)
        let thread = Thread { [unowned self] in
            while true {
                semaphore.wait()
                self.work(index)
                self.finished.signal()
            }
        }
        thread.name = "btx-worker-\(index)"
        thread.start()
    }
}
