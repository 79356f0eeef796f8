import CBTXKernels
import Dispatch
import Foundation

/// A process-wide set of parked worker threads that `parallelFor` hands work to without allocating
/// (GCD's `concurrentPerform` allocates a few blocks per call, and the training step must not).
///
/// The calling thread and the woken workers claim the items in chunks from one atomic word (the job's
/// number, item count and next item) and count the items they finish; the caller returns when all
/// are done. Items run exactly once each, on whichever thread claims them, and each item writes only
/// its own outputs, so results do not depend on the thread count or on who ran what. One caller at
/// a time: a second, concurrent caller gets `false` from `run` and falls back to GCD.
///
/// NOTE: on a loaded machine a woken worker may not get a core for milliseconds; with a fixed share
/// per worker the caller then sat idle waiting for it (2 threads slower than 1 under contention).
/// Claiming lets the caller run every item itself; a late worker finds none left. A claimant reads
/// the job (kernel pointer, type) only after its claim succeeded: a job with an unfinished item is
/// still the one published, so those fields are its own.
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

    /// Bits of the item count and of the next item in the claim word (the job number above them).
    static let itemBits = 22

    private let busy = NSLock()
    private var wake = [DispatchSemaphore]()
    // Atomics (through CBTXKernels' helpers): worker w's ticket and sleeping flag, the claim word
    // (job | count | next item), the count of finished items.
    private let tickets = UnsafeMutablePointer<Int>.allocate(capacity: ThreadPool.maxWorkers * ThreadPool.line)
    private let sleeping = UnsafeMutablePointer<Int>.allocate(capacity: ThreadPool.maxWorkers * ThreadPool.line)
    private let claim = UnsafeMutablePointer<Int>.allocate(capacity: ThreadPool.line)
    private let finished = UnsafeMutablePointer<Int>.allocate(capacity: ThreadPool.line)
    private var ticket = 0
    private var job: UnsafeRawPointer?             // → the caller's kernel value
    private var jobType: (any ParallelKernel.Type)?

    private init() {
        tickets.initialize(repeating: 0, count: Self.maxWorkers * Self.line)
        sleeping.initialize(repeating: 0, count: Self.maxWorkers * Self.line)
        claim.initialize(repeating: 0, count: Self.line)
        finished.initialize(repeating: 0, count: Self.line)
    }

    /// Runs `kernel(i)` for `i` in `0..<count` on the calling thread and `workers − 1` pool threads,
    /// and waits for all items. Returns false without running anything when another caller holds the
    /// pool (or the job is larger than the claim word or the pool's slots).
    func run<K: ParallelKernel>(count: Int, workers: Int, _ kernel: K) -> Bool {
        guard workers <= Self.maxWorkers, count < 1 << Self.itemBits, busy.try() else { return false }
        defer { busy.unlock() }
        while wake.count < workers - 1 { spawnWorker() }
        withUnsafePointer(to: kernel) { pointer in
            job = UnsafeRawPointer(pointer)
            jobType = K.self
            btx_atomic_store(finished, 0)
            ticket += 1
            btx_atomic_store(claim, Self.claimWord(job: ticket, count: count, next: 0))  // publishes the job
            for w in 1..<workers {
                btx_atomic_store(tickets + w * Self.line, ticket)
                if btx_atomic_load(sleeping + w * Self.line) != 0 { wake[w - 1].signal() }
            }
            claimAndRun()
            var spins = 0
            while btx_atomic_load(finished) < count {
                if spins < Self.spinLimit { spins += 1; btx_spin_pause() } else { sched_yield() }
            }
            job = nil
            jobType = nil
        }
        return true
    }

    /// The claim word: job number (its low 19 bits), item count, next unclaimed item.
    static func claimWord(job: Int, count: Int, next: Int) -> Int {
        (job & ((1 << (63 - 2 * itemBits)) - 1)) << (2 * itemBits) | count << itemBits | next
    }

    /// Claims chunks of the published job's items and runs them until none is left (eight chunks a
    /// job, so two threads stay balanced and a late one finds the work done).
    private func claimAndRun() {
        let mask = (1 << Self.itemBits) - 1
        while true {
            let word = btx_atomic_load(claim), count = (word >> Self.itemBits) & mask, next = word & mask
            guard next < count else { return }
            let end = min(count, next + max(1, count / 8))
            guard btx_atomic_cas(claim, word, word - next + end) else { continue }
            // Read after the claim: the job holding an unfinished item is the published one.
            guard let job, let jobType else { preconditionFailure("claimed an item of no job") }
            runRange(jobType, job, next..<end)
            _ = btx_atomic_add(finished, end - next)
        }
    }

    /// Worker `index`'s loop: wait for a new ticket (spinning, then asleep), then claim and run items.
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
            claimAndRun()
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

/// Runs items `items` of the kernel of type `K` at `pointer` (the existential metatype is opened
/// here, so the call is direct).
private func runRange<K: ParallelKernel>(_ type: K.Type, _ pointer: UnsafeRawPointer, _ items: Range<Int>) {
    let kernel = pointer.assumingMemoryBound(to: K.self)
    for i in items { kernel.pointee(i) }
}
