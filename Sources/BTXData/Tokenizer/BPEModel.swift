import BTXStore

/// The `model` of a `tokenizer.json` of type BPE, in either of the two forms btxpipe supports:
/// byte-level (tokens spell bytes through GPT-2's byte → character table; GPT-2, Llama 3, Qwen2,
/// SmolLM2) or SentencePiece style (tokens are text with "▁" for spaces; characters missing from
/// the vocab become `<0xNN>` byte tokens with `byte_fallback`, else `unk_token`, fused with `fuse_unk`).
///
/// Options that would change the result and are not implemented (`dropout`,
/// `continuing_subword_prefix`, `end_of_word_suffix`) are refused by name.
struct BPEModel: Sendable {
    /// Whether tokens spell bytes (ByteLevel) rather than text.
    let byteLevel: Bool
    /// A token's bytes (raw bytes for byte-level, UTF-8 text otherwise) → id.
    let vocab: [[UInt8]: UInt32]
    /// The merge rules.
    let merges: BPEMergeTable
    /// Byte-level: the id of each byte; SentencePiece: the `<0xNN>` token of each byte.
    let byteIds: [UInt32?]
    let unk: UInt32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// The largest id in the vocab.
    let maxId: UInt32
    /// id → the bytes it stands for in decoded text (byte-level: its bytes; SentencePiece: its
    /// text with "▁" as a space, `<0xNN>` as that byte).
    let pieces: [UInt32: [UInt8]]

    /// Parses `model` (a BPE object); `byteLevel` says how to read its tokens.
    init(_ model: JSONValue, byteLevel: Bool) throws {
        func bad(_ field: String, _ expected: String) -> TokenizerError { .badTokenizerJSON(field: "model.\(field)", expected: expected) }
        guard model["type"]?.stringValue == "BPE" else {
            throw TokenizerError.unsupported(field: "model.type", value: "model \"\(model["type"]?.stringValue ?? "missing")\" (only BPE)")
        }
        for key in ["dropout", "continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key], v != .null, v != .string("") { throw TokenizerError.unsupported(field: "model.\(key)", value: v.canonicalText) }
        }
        guard let vocabJSON = model["vocab"]?.objectValue else { throw bad("vocab", "an object of token → id") }
        self.byteLevel = byteLevel
        var vocab: [[UInt8]: UInt32] = [:], pieces: [UInt32: [UInt8]] = [:], maxId: UInt32 = 0
        vocab.reserveCapacity(vocabJSON.count)
        for (token, value) in vocabJSON {
            guard let id = value.intValue, let id32 = UInt32(exactly: id) else { throw bad("vocab[\(token)]", "a non-negative id") }
            let key = byteLevel ? (Self.byteLevelBytes(token) ?? Array(token.utf8)) : Array(token.utf8)
            vocab[key] = id32
            pieces[id32] = byteLevel ? key : Self.sentencePieceBytes(token)
            maxId = max(maxId, id32)
        }
        self.vocab = vocab
        self.pieces = pieces
        self.maxId = maxId
        merges = try Self.merges(model["merges"], vocab: vocab, byteLevel: byteLevel)
        byteIds = (0..<256).map { b in byteLevel ? vocab[[UInt8(b)]] : vocab[Array(Self.byteToken(UInt8(b)).utf8)] }
        if let unkToken = model["unk_token"]?.stringValue {
            guard let id = vocab[byteLevel ? (Self.byteLevelBytes(unkToken) ?? []) : Array(unkToken.utf8)] else {
                throw bad("unk_token", "a token of the vocab, got \"\(unkToken)\"")
            }
            unk = id
        } else {
            unk = nil
        }
        fuseUnk = model["fuse_unk"]?.boolValue ?? false
        byteFallback = model["byte_fallback"]?.boolValue ?? false
        ignoreMerges = model["ignore_merges"]?.boolValue ?? false
    }

    /// The merges ("a b" strings or [a, b] pairs) as id rules, checked against the vocab.
    private static func merges(_ json: JSONValue?, vocab: [[UInt8]: UInt32], byteLevel: Bool) throws -> BPEMergeTable {
        guard let list = json?.arrayValue else { throw TokenizerError.badTokenizerJSON(field: "model.merges", expected: "an array") }
        var table = BPEMergeTable(capacity: list.count)
        for (rank, m) in list.enumerated() {
            let parts: [Substring]
            if let s = m.stringValue { parts = s.split(separator: " ", omittingEmptySubsequences: false) }
            else { parts = m.arrayValue?.compactMap { $0.stringValue.map { Substring($0) } } ?? [] }
            let keys = parts.map { byteLevel ? (byteLevelBytes($0) ?? []) : Array($0.utf8) }
            guard keys.count == 2, let a = vocab[keys[0]], let b = vocab[keys[1]], let merged = vocab[keys[0] + keys[1]] else {
                throw TokenizerError.badTokenizerJSON(field: "model.merges[\(rank)]", expected: "two tokens of the vocab whose concatenation is in the vocab, got \(m.canonicalText)")
            }
            table.add(left: a, right: b, merged: merged, rank: rank)
        }
        return table
    }

    /// GPT-2's character → byte table, inverted and indexed by the character's scalar value (every
    /// character of the table is one scalar below U+0144); -1 where no byte maps.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, c) in BPETokenizer.byteToUnicode.enumerated() { table[Int(c.unicodeScalars.first!.value)] = Int16(b) }
        return table
    }()

    /// The bytes a byte-level token spells, or nil when it has a character outside the table.
    /// NOTE: read by exact scalar (a table lookup each), as HF's tokenizers does, not by Character:
    /// a Character lookup also matched canonically equivalent spellings ("e\u{301}" as "é"), which
    /// no real vocabulary holds; a 49k-token vocabulary with its merges loads ~1.6× faster.
    static func byteLevelBytes<Text: StringProtocol>(_ token: Text) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        let table = scalarToByte
        for scalar in token.unicodeScalars {
            let v = Int(scalar.value)
            guard v < table.count, table[v] >= 0 else { return nil }
            out.append(UInt8(table[v]))
        }
        return out
    }

    /// SentencePiece's byte token for `b`: `<0xNN>`.
    static func byteToken(_ b: UInt8) -> String {
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x\(hex.count == 1 ? "0" + hex : hex)>"
    }

    /// The decoded bytes of a SentencePiece-style token.
    static func sentencePieceBytes(_ token: String) -> [UInt8] {
        let u = Array(token.utf8)
        if u.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"), let b = UInt8(token.dropFirst(3).dropLast(), radix: 16) { return [b] }
        return Array(token.replacingOccurrences(of: "\u{2581}", with: " ").utf8)
    }

    /// Appends the ids of one pre-tokenized piece (`bytes`: its UTF-8).
    func encode(_ scalars: [UInt32], bytes: [UInt8], into out: inout [UInt32]) {
        if ignoreMerges, let id = vocab[bytes] { out.append(id); return }
        var symbols: [UInt32] = []
        symbols.reserveCapacity(bytes.count)
        if byteLevel {
            for b in bytes { if let id = byteIds[Int(b)] ?? unk { symbols.append(id) } }
        } else {
            symbolsOfText(scalars, into: &symbols)
        }
        merges.apply(&symbols)
        out += symbols
    }

    /// SentencePiece style: each character's token, else its `<0xNN>` bytes, else `unk` (fused).
    private func symbolsOfText(_ scalars: [UInt32], into symbols: inout [UInt32]) {
        var pendingUnk = false
        for v in scalars {
            let utf8 = ScalarText.utf8(CollectionOfOne(v))
            if let id = vocab[utf8] {
                if pendingUnk, let unk { symbols.append(unk); pendingUnk = false }
                symbols.append(id)
                continue
            }
            if byteFallback {
                let ids = utf8.compactMap { byteIds[Int($0)] }
                if ids.count == utf8.count { symbols += ids; continue }
            }
            guard let unk else { continue }
            if pendingUnk && !fuseUnk { symbols.append(unk) }
            pendingUnk = true
        }
        if pendingUnk, let unk { symbols.append(unk) }
    }
}
