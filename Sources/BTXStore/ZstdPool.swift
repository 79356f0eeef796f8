import CZstd
import Foundation

/// Reusable zstd contexts shared by the store's worker threads (creating one per chunk costs
/// more than compressing a small object).
final class ZstdPool: @unchecked Sendable {
    /// Compression level: 1 keeps put at hundreds of MB/s; shuffling, not the level, gives the ratio.
    let level: Int32
    private let lock = NSLock()
    private var compressors: [OpaquePointer] = []
    private var decompressors: [OpaquePointer] = []

    init(level: Int32 = 1) { self.level = level }

    deinit {
        for c in compressors { ZSTD_freeCCtx(c) }
        for d in decompressors { ZSTD_freeDCtx(d) }
    }

    /// The largest compressed size of `count` bytes.
    static func bound(_ count: Int) -> Int { ZSTD_compressBound(count) }

    /// Compresses `source` into `destination`; nil when zstd fails or the result would not be smaller.
    func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int? {
        let ctx = lock.withLock { compressors.popLast() } ?? ZSTD_createCCtx()!
        defer { lock.withLock { compressors.append(ctx) } }
        let n = ZSTD_compressCCtx(ctx, destination.baseAddress, destination.count, source.baseAddress, source.count, level)
        guard ZSTD_isError(n) == 0, n < source.count else { return nil }
        return n
    }

    /// Decompresses `source` into `destination`; the decompressed size, or nil when the frame is invalid.
    func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int? {
        let ctx = lock.withLock { decompressors.popLast() } ?? ZSTD_createDCtx()!
        defer { lock.withLock { decompressors.append(ctx) } }
        let n = ZSTD_decompressDCtx(ctx, destination.baseAddress, destination.count, source.baseAddress, source.count)
        guard ZSTD_isError(n) == 0 else { return nil }
        return n
    }
}
