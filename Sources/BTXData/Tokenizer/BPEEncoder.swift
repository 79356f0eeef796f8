import Foundation

/// Encodes text with a `BPETokenizer`, caching the ids of every pre-token seen.
///
/// Natural text repeats a small set of words, so after warm-up almost every piece is one hash
/// lookup. Not thread-safe: use one encoder per thread.
public final class BPEEncoder: TokenEncoder {
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

    /// Appends the ids of `bytes` to `out` (no BOS/EOS); invalid UTF-8 is first replaced by U+FFFD.
    public func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt32]) {
        if let valid = ScalarText.validUTF8(bytes) {
            valid.withUnsafeBytes { encodeValid($0, into: &out) }
        } else {
            encodeValid(bytes, into: &out)
        }
    }

    /// Splits off the special tokens `<|bos|>` / `<|eos|>` written in the text (`tokenizers` matches
    /// added tokens before anything else), encoding the text between them.
    private static let bosBytes = Array(BPETokenizer.bosText.utf8), eosBytes = Array(BPETokenizer.eosText.utf8)

    private func encodeValid(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt32]) {
        let bos = Self.bosBytes, eos = Self.eosBytes
        var start = 0, i = 0
        while i + bos.count <= bytes.count {
            if bytes[i] == bos[0] && bytes[i + 1] == bos[1] {
                let piece = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + bos.count)])
                let id = piece.elementsEqual(bos) ? tokenizer.bos : piece.elementsEqual(eos) ? tokenizer.eos : nil
                if let id {
                    encodeText(UnsafeRawBufferPointer(rebasing: bytes[start..<i]), into: &out)
                    out.append(id)
                    i += bos.count
                    start = i
                    continue
                }
            }
            i += 1
        }
        encodeText(UnsafeRawBufferPointer(rebasing: bytes[start...]), into: &out)
    }

    private func encodeText(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt32]) {
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

    /// FNV-1a over the piece, folded with its length.
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}
