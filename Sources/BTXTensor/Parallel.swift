import Dispatch

/// The body of a parallel region as a value: the pointers and sizes it works on, and what it does
/// for item `i`. Each item must write only its own outputs.
///
/// NOTE: the training step's kernels are such values rather than closures because a value can be
/// handed to the worker threads by address, without allocating (see `ThreadPool`).
public protocol ParallelKernel {
    /// Processes item `i`.
    func callAsFunction(_ i: Int)
}

extension ParallelKernel {
    /// Items `worker`, `worker + workers`, … below `count`.
    @inline(__always)
    func runShare(worker: Int, of workers: Int, count: Int) {
        var i = worker
        while i < count {
            self(i)
            i += workers
        }
    }
}

/// Runs `kernel(i)` for every `i` in `0..<count` on up to `threads` threads, without allocating.
///
/// Threads claim items in chunks (`ThreadPool`), and each item must write only its own outputs: the
/// result is then bitwise the same for every thread count, whichever thread ran an item. A nested
/// or concurrent call (the pool is busy) falls back to GCD, which allocates.
@inline(__always)
public func parallelFor<K: ParallelKernel>(_ count: Int, threads: Int, _ kernel: K) {
    let workers = min(max(1, threads), count)
    if workers <= 1 {
        for i in 0..<count { kernel(i) }
        return
    }
    if ThreadPool.shared.run(count: count, workers: workers, kernel) { return }
    DispatchQueue.concurrentPerform(iterations: workers) { kernel.runShare(worker: $0, of: workers, count: count) }
}

/// `parallelFor` with a closure body, for code outside the training step: making the closure
/// callable from the workers boxes it, one small allocation per call when it runs in parallel.
@inline(__always)
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    if min(max(1, threads), count) <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { parallelFor(count, threads: threads, ClosureKernel(body: $0)) }
}

/// A closure as a `ParallelKernel`.
struct ClosureKernel: ParallelKernel {
    let body: (Int) -> Void
    func callAsFunction(_ i: Int) { body(i) }
}

/// The grid `blockRange` puts block boundaries on unless told otherwise.
///
/// NOTE: 24 keeps sgemm bitwise independent of the split: OpenBLAS computes the last rows of a
/// row-major product (its column-major "N" tail, 12 wide for the Haswell/Zen kernels, 4 or 8 for
/// others) with a different micro-kernel, so a block boundary off that grid changes bits.
public let blockRowGrid = 24

/// Splits `0..<count` into `parts` contiguous ranges (the last one shorter), each a multiple of
/// `align` long, for kernels that give each thread a block of rows.
@inline(__always)
public func blockRange(_ part: Int, of parts: Int, count: Int, align: Int = blockRowGrid) -> Range<Int> {
    let chunk = ((count + parts - 1) / parts + align - 1) / align * align
    return min(count, part * chunk)..<min(count, (part + 1) * chunk)
}
