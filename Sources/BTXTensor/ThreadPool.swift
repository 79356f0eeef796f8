import Dispatch
import Foundation

/// A process-wide set of parked worker threads that `parallelFor` hands work to without allocating
/// (GCD's `concurrentPerform` allocates a few blocks per call, and the training step must not).
///
/// The calling thread runs worker 0 itself; workers 1… wake on their own semaphore, run, and
/// signal completion. One caller at a time: a second, concurrent caller gets `false` from `run`
/// and falls back to GCD.
///
/// NOTE: the job is published as a pointer to the caller's `ParallelKernel` value (on its stack)
/// plus the kernel's type, never as a closure: turning a non-escaping closure into one that other
/// threads can call (`withoutActuallyEscaping`) boxes it on the heap, one allocation per region
/// (seen with the malloc tracer, `AllocationTrace` in the tests).
final class ThreadPool: @unchecked Sendable {
    /// The pool `parallelFor` uses; its threads are created on first use and never exit.
    static let shared = ThreadPool()

    private let busy = NSLock()
    private var wake = [DispatchSemaphore]()
    private let finished = DispatchSemaphore(value: 0)
    private var job: UnsafeRawPointer?             // → the caller's kernel value
    private var jobType: (any ParallelKernel.Type)?
    private var count = 0, workers = 0

    /// Runs `kernel(i)` for `i` in `0..<count`, dealt round-robin to `workers` threads (worker 0 is
    /// the calling thread), and waits for all of them. Returns false without running anything when
    /// another caller holds the pool.
    func run<K: ParallelKernel>(count: Int, workers: Int, _ kernel: K) -> Bool {
        guard busy.try() else { return false }
        defer { busy.unlock() }
        while wake.count < workers - 1 { spawnWorker() }
        withUnsafePointer(to: kernel) { pointer in
            job = UnsafeRawPointer(pointer)
            jobType = K.self
            self.count = count
            self.workers = workers
            for w in 1..<workers { wake[w - 1].signal() }
            kernel.runShare(worker: 0, of: workers, count: count)
            for _ in 1..<workers { finished.wait() }
            job = nil
            jobType = nil
        }
        return true
    }

    /// Worker `worker`'s share of the current job.
    private func work(_ worker: Int) {
        guard let job, let jobType else { return }
        runShare(jobType, job, worker: worker, of: workers, count: count)
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

/// Runs worker `worker`'s share of the kernel of type `K` at `pointer` (the existential metatype is
/// opened here, so the call is direct).
private func runShare<K: ParallelKernel>(_ type: K.Type, _ pointer: UnsafeRawPointer, worker: Int, of workers: Int,
                                         count: Int) {
    pointer.assumingMemoryBound(to: K.self).pointee.runShare(worker: worker, of: workers, count: count)
}
