import Glibc

/// Zero-filled memory for numeric arrays (parameters, gradients, optimizer moments, activations).
///
/// Blocks of 2 MiB or more are anonymous mappings aligned to 2 MiB and advised for transparent huge
/// pages (`MADV_HUGEPAGE`: under the kernel's `madvise` THP mode, Debian's default, nothing else gets
/// them). A 135 M-parameter model then faults in a few hundred pages instead of ~130,000, and the
/// kernels' streams over gradients and moments miss the TLB far less. The kernel's pages are already
/// zero, so nothing is written until used, and a block goes back to the kernel the moment it is freed.
/// Smaller blocks come from malloc and are zeroed.
public enum ZeroedMemory {
    static let hugePage = 2 << 20
    static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// `count` zeroed elements (at least one).
    public static func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = Self.bytes(T.self, count)
        if bytes >= hugePage { return mapAligned(bytes).bindMemory(to: T.self, capacity: max(count, 1)) }
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        memset(p, 0, bytes)  // NOTE: not initializeMemory(as: UInt8.self): that would rebind the memory
        return p
    }

    /// Frees what `allocate` returned for the same `count` (the size says how it was allocated).
    public static func deallocate<T>(_ p: UnsafeMutablePointer<T>, count: Int) {
        let bytes = Self.bytes(T.self, count)
        if bytes >= hugePage {
            munmap(p, roundUp(bytes, page))
        } else {
            p.deallocate()
        }
    }

    private static func bytes<T>(_: T.Type, _ count: Int) -> Int { max(count, 1) * MemoryLayout<T>.stride }

    private static func roundUp(_ n: Int, _ to: Int) -> Int { (n + to - 1) / to * to }

    /// `bytes` (rounded to whole pages) of zeroed memory starting on a 2 MiB boundary, huge pages
    /// advised. Out of address space or memory it stops the process, as a failed malloc does.
    private static func mapAligned(_ bytes: Int) -> UnsafeMutableRawPointer {
        let length = roundUp(bytes, page)
        guard let raw = mmap(nil, length + hugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else { fatalError("out of memory: cannot map \(length) bytes (errno \(errno))") }
        let start = Int(bitPattern: raw), aligned = roundUp(start, hugePage)
        // Trim the mapping to the aligned block: what precedes the boundary and what follows the end.
        if aligned > start { munmap(raw, aligned - start) }
        let tail = start + length + hugePage - (aligned + length)
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: aligned + length), tail) }
        let block = UnsafeMutableRawPointer(bitPattern: aligned)!
        // NOTE: only the whole 2 MiB regions inside the block become huge pages; the tail keeps small
        // ones, so a block never holds more resident memory than its own size rounded to 2 MiB.
        _ = madvise(block, length, MADV_HUGEPAGE)
        return block
    }
}
