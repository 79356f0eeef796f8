import Foundation

/// A byte-level BPE tokenizer (GPT-2 style, Sennrich et al. 2016): ids 0–255 are the raw bytes,
/// id 256 + r is the r-th merge, and BOS and EOS are the last two ids.
///
/// Encoding splits text with `PreTokenizer`, then applies the merges in rank order inside each
/// piece; its `huggingFaceJSON` encodes identically in `tokenizers` (ByteLevel BPE, GPT-2 regex).
/// Invalid UTF-8 is replaced by U+FFFD before encoding, as Python does before `tokenizers` sees it.
public struct BPETokenizer: Equatable, Sendable {
    /// The merges in the order learned: merge r joins `merges[r].0` and `merges[r].1` into 256 + r.
    public let merges: [Merge]
    /// Text of the special tokens in tokenizer.json.
    public static let bosText = "<|bos|>", eosText = "<|eos|>"

    /// One merge rule: the two ids joined.
    public struct Merge: Equatable, Sendable {
        public let left: UInt32, right: UInt32
        public init(_ left: UInt32, _ right: UInt32) { self.left = left; self.right = right }
    }

    /// Bytes of every non-special id (index = id).
    let pieces: [[UInt8]]
    /// The merges by id pair.
    let mergeTable: BPEMergeTable

    /// Longest piece a merge may build, in bytes.
    static let maxPieceBytes = 1 << 12
    /// Most bytes all pieces together may hold.
    static let maxTotalPieceBytes = 64 << 20

    /// A tokenizer from its merges; throws when a merge refers to an id not yet defined, or builds a
    /// piece over `maxPieceBytes` (or all pieces over `maxTotalPieceBytes`).
    public init(merges: [Merge]) throws {
        var pieces = (0..<256).map { [UInt8($0)] }
        var table = BPEMergeTable(capacity: merges.count)
        var totalBytes = 256
        for (r, m) in merges.enumerated() {
            let next = UInt32(256 + r)
            guard m.left < next, m.right < next else {
                throw TokenizerError.badSerialization("merge \(r) refers to id \(max(m.left, m.right)) before it exists")
            }
            // NOTE: a merge may join a piece with itself, so a hostile file can double a piece per
            // merge (2^merges bytes); real vocabularies stay far below both caps.
            let length = pieces[Int(m.left)].count + pieces[Int(m.right)].count
            totalBytes += length
            guard length <= Self.maxPieceBytes, totalBytes <= Self.maxTotalPieceBytes else {
                throw TokenizerError.badSerialization("merge \(r) makes a \(length)-byte piece (\(totalBytes) bytes in all); limits are \(Self.maxPieceBytes) per piece and \(Self.maxTotalPieceBytes) in all")
            }
            pieces.append(pieces[Int(m.left)] + pieces[Int(m.right)])
            table.add(left: m.left, right: m.right, merged: next, rank: r)
        }
        self.merges = merges
        self.pieces = pieces
        mergeTable = table
    }

    /// Number of ids, specials included.
    public var vocabSize: Int { 256 + merges.count + 2 }
    /// Beginning-of-sequence id.
    public var bos: UInt32 { UInt32(256 + merges.count) }
    /// End-of-sequence (and document separator) id.
    public var eos: UInt32 { UInt32(257 + merges.count) }

    public static func == (a: BPETokenizer, b: BPETokenizer) -> Bool { a.merges == b.merges }

    /// Applies the merges to one pre-token, appending its ids to `out`.
    func encodeWord(_ word: UnsafeRawBufferPointer, into out: inout [UInt32]) {
        if word.count == 1 { out.append(UInt32(word[0])); return }
        var symbols = word.map { UInt32($0) }
        mergeTable.apply(&symbols)
        out.append(contentsOf: symbols)
    }

    /// The bytes of `ids`; specials decode to nothing unless `includeSpecials` (then to their text).
    public func decode(_ ids: [UInt32], includeSpecials: Bool = false) throws -> Data {
        var out = Data()
        for id in ids {
            if Int(id) < pieces.count { out.append(contentsOf: pieces[Int(id)]); continue }
            guard id == bos || id == eos else { throw TokenizerError.unknownToken(id) }
            if includeSpecials { out.append(contentsOf: (id == bos ? BPETokenizer.bosText : BPETokenizer.eosText).utf8) }
        }
        return out
    }

    /// The bytes of one non-special id (empty for specials and unknown ids).
    public func bytes(of id: UInt32) -> [UInt8] { Int(id) < pieces.count ? pieces[Int(id)] : [] }
}
