import Foundation

/// Encodes text with an `HFTokenizer`: added tokens, normalizer, pre-tokenizer, BPE, in the order
/// of `tokenizers`' `encode`; caches the ids of short pieces. Not thread-safe: one per thread.
public final class HFEncoder: TokenEncoder {
    /// The tokenizer.
    public let tokenizer: HFTokenizer
    private var cache: [[UInt32]: [UInt32]] = [:]
    private let maxEntries = 1 << 18

    /// An encoder with an empty cache.
    public init(_ tokenizer: HFTokenizer) { self.tokenizer = tokenizer }

    public func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt32]) {
        let text = ScalarText.validUTF8(bytes) ?? Array(bytes.assumingMemoryBound(to: UInt8.self))
        tokenizer.added.split(text, normalized: false, text: { range in
            let scalars = text[range].withUnsafeBytes { ScalarText(utf8: $0).scalars }
            encodeSegment(scalars, atStart: range.lowerBound == 0, into: &out)
        }, token: { out.append($0) })
    }

    /// A text segment between raw added tokens: normalized, split by normalized added tokens, then
    /// pre-tokenized and merged.
    private func encodeSegment(_ scalars: [UInt32], atStart: Bool, into out: inout [UInt32]) {
        let normalized = tokenizer.normalizer?.apply(scalars) ?? scalars
        guard tokenizer.added.hasNormalized else { encodePieces(normalized, atStart: atStart, into: &out); return }
        let utf8 = ScalarText.utf8(normalized)
        tokenizer.added.split(utf8, normalized: true, text: { range in
            let part = utf8[range].withUnsafeBytes { ScalarText(utf8: $0).scalars }
            encodePieces(part, atStart: atStart && range.lowerBound == 0, into: &out)
        }, token: { out.append($0) })
    }

    private func encodePieces(_ scalars: [UInt32], atStart: Bool, into out: inout [UInt32]) {
        let whole = [PreTokenizerSpec.Piece(scalars: scalars, atStart: atStart)]
        for piece in tokenizer.preTokenizer?.apply(whole) ?? whole where !piece.scalars.isEmpty {
            if let ids = cache[piece.scalars] { out += ids; continue }
            let before = out.count
            tokenizer.model.encode(piece.scalars, bytes: ScalarText.utf8(piece.scalars), into: &out)
            if piece.scalars.count <= 64 && cache.count < maxEntries { cache[piece.scalars] = Array(out[before...]) }
        }
    }
}
