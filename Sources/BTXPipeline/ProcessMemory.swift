import Foundation

/// The process's heap between stages. With `-j 1` every stage of a run computes in one process,
/// and glibc keeps the pages an earlier stage freed (a dense model's activations, say) mapped and
/// resident: the run's peak RSS becomes the sum of leftovers instead of the largest stage. The
/// runner hands them back to the kernel after each stage (`malloc_trim`, as `glibc` documents it).
public enum ProcessMemory {
    /// `int malloc_trim(size_t pad)`, looked up at run time: Swift's Glibc module does not export
    /// `<malloc.h>`. Nil on a C library without it (nothing is trimmed there).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }  // RTLD_DEFAULT
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()

    /// Returns every free page of every malloc arena to the kernel (live allocations are untouched).
    public static func releaseFreedPages() {
        _ = mallocTrim?(0)
    }
}
