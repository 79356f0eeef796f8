import BTXStore
import Foundation

/// The tokenizer as bytes (the store object) and as a Hugging Face `tokenizer.json`.
extension BPETokenizer {
    private static let magic = Array("BTXBPE\u{0}\u{1}".utf8)

    /// Binary form: 8-byte magic with format version, merge count (u32 LE), then each merge as
    /// two u32 LE ids.
    public func serialized() -> Data {
        var out = Data(BPETokenizer.magic)
        func put(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(merges.count))
        for m in merges { put(m.left); put(m.right) }
        return out
    }

    /// Reads the binary form; throws naming what is wrong with it.
    public init(serialized data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 12, Array(bytes[0..<8]) == BPETokenizer.magic else {
            throw TokenizerError.badSerialization("missing magic 'BTXBPE' version 1 (not a btxpipe tokenizer?)")
        }
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        let n = Int(u32(8))
        guard bytes.count == 12 + 8 * n else {
            throw TokenizerError.badSerialization("expected \(12 + 8 * n) bytes for \(n) merges, found \(bytes.count)")
        }
        try self.init(merges: (0..<n).map { Merge(u32(12 + 8 * $0), u32(16 + 8 * $0)) })
    }

    /// GPT-2's byte → printable character table (`bytes_to_unicode` in openai/gpt-2 encoder.py):
    /// printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
    public static let byteToUnicode: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        var extra = 0
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            let scalar = printable ? b : 256 + extra
            if !printable { extra += 1 }
            table[b] = Character(Unicode.Scalar(UInt32(scalar))!)
        }
        return table
    }()

    private func tokenString(_ id: Int) -> String { String(pieces[id].map { BPETokenizer.byteToUnicode[Int($0)] }) }

    /// A Hugging Face `tokenizer.json` (tokenizers ≥ 0.13): byte-level BPE with BOS/EOS as
    /// added tokens, ByteLevel pre-tokenizer and decoder.
    public func huggingFaceJSON() -> Data {
        var vocab: [String: JSONValue] = [:]
        for id in 0..<pieces.count { vocab[tokenString(id)] = .int(Int64(id)) }
        let mergeStrings = merges.map { JSONValue.string(tokenString(Int($0.left)) + " " + tokenString(Int($0.right))) }
        func added(_ id: UInt32, _ text: String) -> JSONValue {
            ["id": .int(Int64(id)), "content": .string(text), "single_word": false, "lstrip": false,
             "rstrip": false, "normalized": false, "special": true]
        }
        let byteLevel: JSONValue = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let model: JSONValue = [
            "type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
            "end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": .object(vocab), "merges": .array(mergeStrings),
        ]
        let json: JSONValue = [
            "version": "1.0", "truncation": nil, "padding": nil,
            "added_tokens": [added(bos, BPETokenizer.bosText), added(eos, BPETokenizer.eosText)],
            "normalizer": nil, "pre_tokenizer": byteLevel, "post_processor": byteLevel, "decoder": byteLevel,
            "model": model,
        ]
        return json.canonicalData
    }

    /// Reads a `tokenizer.json` written by `huggingFaceJSON` (merges as "a b" strings or [a, b]
    /// pairs); the ids of its vocab must follow btxpipe's layout (bytes, merges, BOS, EOS).
    public init(huggingFaceJSON data: Data) throws {
        try self.init(huggingFaceJSON: try JSONValue.parse(data))
    }

    /// Reads a parsed `tokenizer.json` written by `huggingFaceJSON`.
    init(huggingFaceJSON json: JSONValue) throws {
        guard json["pre_tokenizer"]?["type"]?.stringValue == "ByteLevel", json["pre_tokenizer"]?["use_regex"]?.boolValue != false,
              json["normalizer"] == nil || json["normalizer"] == .null else {
            throw TokenizerError.badTokenizerJSON(field: "pre_tokenizer", expected: "btxpipe's ByteLevel pre-tokenizer and no normalizer")
        }
        guard json["model"]?["type"]?.stringValue == "BPE" else {
            throw TokenizerError.badTokenizerJSON(field: "model.type", expected: "\"BPE\"")
        }
        guard let vocab = json["model"]?["vocab"]?.objectValue else {
            throw TokenizerError.badTokenizerJSON(field: "model.vocab", expected: "an object of token → id")
        }
        guard let mergeList = json["model"]?["merges"]?.arrayValue else {
            throw TokenizerError.badTokenizerJSON(field: "model.merges", expected: "an array")
        }
        var byteOf: [Character: UInt8] = [:]
        for (b, c) in BPETokenizer.byteToUnicode.enumerated() { byteOf[c] = UInt8(b) }
        var ids: [[UInt8]: UInt32] = [:]
        for (token, id) in vocab {
            guard let id = id.intValue, id >= 0 else { throw TokenizerError.badTokenizerJSON(field: "model.vocab[\(token)]", expected: "an id") }
            var bytes: [UInt8] = []
            for ch in token {
                guard let b = byteOf[ch] else { throw TokenizerError.badTokenizerJSON(field: "model.vocab[\(token)]", expected: "ByteLevel characters") }
                bytes.append(b)
            }
            ids[bytes] = UInt32(id)
        }
        func id(_ token: String, _ index: Int) throws -> UInt32 {
            let bytes = token.map { byteOf[$0] ?? 0 }
            guard let id = ids[bytes] else { throw TokenizerError.badTokenizerJSON(field: "model.merges[\(index)]", expected: "tokens in the vocab") }
            return id
        }
        var merges: [Merge] = []
        for (i, m) in mergeList.enumerated() {
            let parts: [String]
            if let s = m.stringValue { parts = s.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }
            else { parts = m.arrayValue?.compactMap(\.stringValue) ?? [] }
            guard parts.count == 2 else { throw TokenizerError.badTokenizerJSON(field: "model.merges[\(i)]", expected: "two tokens") }
            merges.append(Merge(try id(parts[0], i), try id(parts[1], i)))
        }
        try self.init(merges: merges)
        for (bytes, id) in ids where Int(id) >= pieces.count || pieces[Int(id)] != bytes {
            throw TokenizerError.badTokenizerJSON(field: "model.vocab", expected: "id \(id) to be bytes then merges in order")
        }
    }
}
