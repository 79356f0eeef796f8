import BTXStore

/// The `added_tokens` of a `tokenizer.json` (special tokens such as `<|endoftext|>` or `</s>`):
/// found in the text before anything else, leftmost-longest as `tokenizers` does; tokens with
/// `normalized: false` in the raw text, those with `normalized: true` after normalization.
/// `lstrip`, `rstrip` and `single_word` are refused by name.
struct AddedTokens: Sendable {
    /// One added token.
    struct Token: Sendable {
        let content: String
        let id: UInt32
        let special: Bool
        let normalized: Bool
    }

    /// Every added token, in file order.
    let all: [Token]
    /// By first byte, longest first: (bytes, id), for raw (index 0) and normalized (index 1) matching.
    private let byFirstByte: [[[([UInt8], UInt32)]]]

    /// Parses `json` (the `added_tokens` array; nil or null: none).
    init(_ json: JSONValue?) throws {
        var all: [Token] = []
        for (i, t) in (json?.arrayValue ?? []).enumerated() {
            guard let content = t["content"]?.stringValue, !content.isEmpty, let id = t["id"]?.intValue, let id32 = UInt32(exactly: id) else {
                throw TokenizerError.badTokenizerJSON(field: "added_tokens[\(i)]", expected: "an object with a non-empty content and an id")
            }
            for key in ["lstrip", "rstrip", "single_word"] where t[key]?.boolValue == true {
                throw TokenizerError.unsupported(field: "added_tokens[\(i)].\(key)", value: "true (token \(content))")
            }
            all.append(Token(content: content, id: id32, special: t["special"]?.boolValue ?? false,
                             normalized: t["normalized"]?.boolValue ?? !(t["special"]?.boolValue ?? false)))
        }
        self.all = all
        byFirstByte = [false, true].map { normalized in
            var table = [[([UInt8], UInt32)]](repeating: [], count: 256)
            for t in all where t.normalized == normalized {
                let bytes = Array(t.content.utf8)
                table[Int(bytes[0])].append((bytes, t.id))
            }
            return table.map { $0.sorted { $0.0.count > $1.0.count } }
        }
    }

    /// Whether any token is matched after normalization.
    var hasNormalized: Bool { all.contains { $0.normalized } }

    /// Splits `bytes` into text ranges and added tokens (`normalized` picks which tokens), calling
    /// `text(range)` and `token(id)` in order.
    func split(_ bytes: [UInt8], normalized: Bool, text: (Range<Int>) -> Void, token: (UInt32) -> Void) {
        let table = byFirstByte[normalized ? 1 : 0]
        var start = 0, i = 0
        while i < bytes.count {
            let candidates = table[Int(bytes[i])]
            if !candidates.isEmpty, let hit = candidates.first(where: { i + $0.0.count <= bytes.count && bytes[i..<(i + $0.0.count)].elementsEqual($0.0) }) {
                if start < i { text(start..<i) }
                token(hit.1)
                i += hit.0.count
                start = i
                continue
            }
            i += 1
        }
        if start < bytes.count { text(start..<bytes.count) }
    }
}
