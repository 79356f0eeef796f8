import CBTXKernels
import Dispatch
import Foundation

/// A process-wide set of parked worker threads that `parallelFor` hands work to without allocating
/// (GCD's `concurrentPerform` allocates a few blocks per call, and the training step must not).
///
/// The calling thread runs worker 0 itself; worker `w` waits for its ticket to change, runs its
/// share, and counts itself finished. One caller at a time: a second, concurrent caller gets `false`
/// from `run` and falls back to GCD.
///
/// NOTE: a training step opens ~100–150 parallel regions (XS), and waking a sleeping thread through a
/// semaphore costs 20–70 µs on these VMs (measured), paid twice per region. So a worker spins on its
/// ticket for ~`spinLimit` pause instructions (~0.1 ms) after each job before it sleeps on its
/// semaphore, and the caller spins (then yields) for the workers to finish. Sleeping is announced
/// through `sleeping[w]` before the ticket is re-checked, and the caller stores the ticket before it
/// reads `sleeping[w]` (both sequentially consistent), so a wake-up is never lost.
///
/// NOTE: the job is published as a pointer to the caller's `ParallelKernel` value (on its stack)
/// plus the kernel's type, never as a closure: turning a non-escaping closure into one that other
/// threads can call (`withoutActuallyEscaping`) boxes it on the heap, one allocation per region
/// (seen with the malloc tracer, `AllocationTrace` in the tests).
final class ThreadPool: @unchecked Sendable {
    /// The pool `parallelFor` uses; its threads are created on first use and never exit.
    static let shared = ThreadPool()
    /// Most workers the pool will start (slots of the atomics below).
    static let maxWorkers = 64
    /// Pause instructions a worker spins for before it sleeps.
    static let spinLimit = 2000
    /// `long`s between two atomics, so that each has its own cache line.
    static let line = 8

    private let busy = NSLock()
    private var wake = [DispatchSemaphore]()
    // Atomics (through CBTXKernels' helpers): worker w's ticket and sleeping flag, the finished count.
    private let tickets = UnsafeMutablePointer<Int>.allocate(capacity: ThreadPool.maxWorkers * ThreadPool.line)
    private let sleeping = UnsafeMutablePointer<Int>.allocate(capacity: ThreadPool.maxWorkers * ThreadPool.line)
    private let finished = UnsafeMutablePointer<Int>.allocate(capacity: ThreadPool.line)
    private var ticket = 0
    private var job: UnsafeRawPointer?             // → the caller's kernel value
    private var jobType: (any ParallelKernel.Type)?
    private var count = 0, workers = 0

    private init() {
        tickets.initialize(repeating: 0, count: Self.maxWorkers * Self.line)
        sleeping.initialize(repeating: 0, count: Self.maxWorkers * Self.line)
        finished.initialize(repeating: 0, count: Self.line)
    }

    /// Runs `kernel(i)` for `i` in `0..<count`, dealt round-robin to `workers` threads (worker 0 is
    /// the calling thread), and waits for all of them. Returns false without running anything when
    /// another caller holds the pool (or more workers are asked for than it has slots).
    func run<K: ParallelKernel>(count: Int, workers: Int, _ kernel: K) -> Bool {
        guard workers <= Self.maxWorkers, busy.try() else { return false }
        defer { busy.unlock() }
        while wake.count < workers - 1 { spawnWorker() }
        withUnsafePointer(to: kernel) { pointer in
            job = UnsafeRawPointer(pointer)
            jobType = K.self
            self.count = count
            self.workers = workers
            btx_atomic_store(finished, 0)
            ticket += 1
            for w in 1..<workers {
                btx_atomic_store(tickets + w * Self.line, ticket)  // publishes the fields above
                if btx_atomic_load(sleeping + w * Self.line) != 0 { wake[w - 1].signal() }
            }
            kernel.runShare(worker: 0, of: workers, count: count)
            var spins = 0
            while btx_atomic_load(finished) < workers - 1 {
                if spins < Self.spinLimit { spins += 1; btx_spin_pause() } else { sched_yield() }
            }
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

    /// Worker `index`'s loop: wait for a new ticket (spinning, then asleep), run, count finished.
    private func serve(_ index: Int, _ semaphore: DispatchSemaphore) {
        let myTicket = tickets + index * Self.line, mySleeping = sleeping + index * Self.line
        var seen = 0
        while true {
            var spins = 0
            while btx_atomic_load(myTicket) == seen {
                if spins < Self.spinLimit { spins += 1; btx_spin_pause(); continue }
                btx_atomic_store(mySleeping, 1)
                if btx_atomic_load(myTicket) == seen { semaphore.wait() }  // a stale signal only loops again
                btx_atomic_store(mySleeping, 0)
                spins = 0
            }
            seen = btx_atomic_load(myTicket)
            work(index)
            _ = btx_atomic_add(finished, 1)
        }
    }

    private func spawnWorker() {
        let semaphore = DispatchSemaphore(value: 0), index = wake.count + 1
        wake.append(semaphore)
        let thread = Thread { [unowned self] in self.serve(index, semaphore) }
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
