import BTXData
import BTXStore
import Foundation

/// Any Hugging Face byte-level BPE `tokenizer.json` (GPT-2, Llama 3, … — arbitrary id layout), for
/// `generate` on imported models: the pre-tokenizer's Split regex (GPT-2's when there is none),
/// GPT-2's byte → character table, merges applied by rank, added tokens matched first.
struct HFByteLevelTokenizer {
    /// GPT-2's pre-tokenisation pattern (openai/gpt-2 encoder.py).
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    let vocab: [String: Int32]
    let ranks: [String: Int]                 // "left right" → merge rank
    let pieces: [Int32: [UInt8]]             // id → bytes (added tokens: their text)
    let added: [(text: String, id: Int32)]   // longest first
    let pattern: NSRegularExpression
    let addPrefixSpace: Bool

    /// Parses `data`; throws naming the field that is not byte-level BPE.
    init(json data: Data) throws {
        func bad(_ field: String, _ expected: String) -> HFError { .badConfig(file: "tokenizer.json", field: field, expected: expected) }
        let json = try JSONValue.parse(data)
        guard json["model"]?["type"]?.stringValue == "BPE", let vocabJSON = json["model"]?["vocab"]?.objectValue else {
            throw bad("model", "a BPE model with a vocab")
        }
        var byteOf: [Character: UInt8] = [:]
        for (b, c) in BPETokenizer.byteToUnicode.enumerated() { byteOf[c] = UInt8(b) }
        var vocab: [String: Int32] = [:], pieces: [Int32: [UInt8]] = [:]
        for (token, value) in vocabJSON {
            guard let id = value.intValue, let id32 = Int32(exactly: id) else { throw bad("model.vocab[\(token)]", "an id") }
            vocab[token] = id32
            pieces[id32] = token.compactMap { byteOf[$0] }
        }
        var ranks: [String: Int] = [:]
        for (rank, merge) in (json["model"]?["merges"]?.arrayValue ?? []).enumerated() {
            let key = merge.stringValue ?? (merge.arrayValue?.compactMap(\.stringValue).joined(separator: " ") ?? "")
            if ranks[key] == nil { ranks[key] = rank }
        }
        var added: [(String, Int32)] = []
        for token in json["added_tokens"]?.arrayValue ?? [] {
            guard let text = token["content"]?.stringValue, let id = token["id"]?.intValue, let id32 = Int32(exactly: id) else { continue }
            added.append((text, id32))
            pieces[id32] = Array(text.utf8)
        }
        self.vocab = vocab
        self.ranks = ranks
        self.pieces = pieces
        self.added = added.sorted { $0.0.count > $1.0.count }
        let regex = Self.splitPattern(json["pre_tokenizer"]) ?? Self.gpt2Pattern
        do { pattern = try NSRegularExpression(pattern: regex) } catch { throw bad("pre_tokenizer", "a valid Split regex, got \(regex)") }
        addPrefixSpace = Self.findByteLevel(json["pre_tokenizer"])?["add_prefix_space"]?.boolValue ?? false
    }

    /// The Split pattern of a pre-tokenizer (possibly inside a Sequence).
    static func splitPattern(_ node: JSONValue?) -> String? {
        guard let node else { return nil }
        if node["type"]?.stringValue == "Split" { return node["pattern"]?["Regex"]?.stringValue ?? node["pattern"]?["String"]?.stringValue.map(NSRegularExpression.escapedPattern) }
        return node["pretokenizers"]?.arrayValue?.lazy.compactMap(splitPattern).first
    }

    static func findByteLevel(_ node: JSONValue?) -> JSONValue? {
        guard let node else { return nil }
        if node["type"]?.stringValue == "ByteLevel" { return node }
        return node["pretokenizers"]?.arrayValue?.lazy.compactMap(findByteLevel).first
    }

    /// Token ids of `text`: added tokens verbatim, the rest pre-tokenised and merged.
    func encode(_ text: String) -> [Int32] {
        var out: [Int32] = []
        var rest = Substring(addPrefixSpace && !text.hasPrefix(" ") ? " " + text : text)
        while !rest.isEmpty {
            let hit = added.compactMap { a in rest.range(of: a.text).map { ($0, a.id) } }.min { $0.0.lowerBound < $1.0.lowerBound }
            let plain = hit.map { rest[..<$0.0.lowerBound] } ?? rest
            encodePlain(String(plain), into: &out)
            guard let (range, id) = hit else { break }
            out.append(id)
            rest = rest[range.upperBound...]
        }
        return out
    }

    private func encodePlain(_ text: String, into out: inout [Int32]) {
        let ns = text as NSString
        for match in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let word = ns.substring(with: match.range)
            var symbols = word.utf8.map { String(BPETokenizer.byteToUnicode[Int($0)]) }
            while symbols.count > 1 {
                var best = Int.max, at = -1
                for i in 0..<(symbols.count - 1) {
                    if let r = ranks[symbols[i] + " " + symbols[i + 1]], r < best { best = r; at = i }
                }
                if at < 0 { break }
                let (left, right) = (symbols[at], symbols[at + 1])
                var merged: [String] = [], i = 0
                while i < symbols.count {
                    if i + 1 < symbols.count, symbols[i] == left, symbols[i + 1] == right { merged.append(left + right); i += 2 }
                    else { merged.append(symbols[i]); i += 1 }
                }
                symbols = merged
            }
            out += symbols.compactMap { vocab[$0] }
        }
    }

    /// The bytes of one token.
    func bytes(of id: Int32) -> [UInt8] { pieces[id] ?? [] }
}
