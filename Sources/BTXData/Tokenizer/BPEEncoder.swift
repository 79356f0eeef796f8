import Foundation

/// Encodes text with a `BPETokenizer`, caching the ids of every pre-token seen.
///
/// Natural text repeats a small set of words, so after warm-up almost every piece is one hash
/// lookup. Not thread-safe: use one encoder per thread.
public final class BPEEncoder {
    /// The tokenizer whose merges are applied.
    public let tokenizer: BPETokenizer
    /// hash(piece) → index into `entries`.
    private var cache: [UInt64: Int32] = [:]
    private var entries: [(bytes: [UInt8], ids: [UInt32])] = []
    private let maxEntries: Int

    /// An encoder with an empty cache of at most `maxCacheEntries` pieces.
    public init(_ tokenizer: BPETokenizer, maxCacheEntries: Int = 1 << 20) {
        self.tokenizer = tokenizer
        maxEntries = maxCacheEntries
    }

    /// Appends the ids of `bytes` to `out` (no BOS/EOS).
    public func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt32]) {
        PreTokenizer.split(bytes) { start, end in
            let word = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            let h = BPEEncoder.hash(word)
            if let e = cache[h], entries[Int(e)].bytes.elementsEqual(word) {
                out.append(contentsOf: entries[Int(e)].ids)
                return
            }
            let before = out.count
            tokenizer.encodeWord(word, into: &out)
            if cache[h] == nil && entries.count < maxEntries {
                cache[h] = Int32(entries.count)
                entries.append((Array(word), Array(out[before...])))
            }
        }
    }

    /// The ids of `data` (no BOS/EOS).
    public func encode(_ data: Data) -> [UInt32] {
        var out = [UInt32]()
        out.reserveCapacity(data.count / 3)
        data.withUnsafeBytes { encode($0, into: &out) }
        return out
    }

    /// FNV-1a over the piece, folded with its length.
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}
