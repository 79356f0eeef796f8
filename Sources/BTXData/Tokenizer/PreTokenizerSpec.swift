import BTXStore

/// The `pre_tokenizer` of a `tokenizer.json`, the kinds btxpipe implements exactly: `ByteLevel`
/// (GPT-2's regex when `use_regex`), `Split` with a known regex (`SplitPattern`, behavior
/// "Isolated"), `Digits`, `Metaspace` (SentencePiece style) and `Sequence`s of them. Anything else
/// (or an option these do not implement, e.g. `add_prefix_space: true` on ByteLevel) is refused by name.
indirect enum PreTokenizerSpec: Equatable, Sendable {
    case byteLevel(useRegex: Bool)
    case split(SplitPattern)
    case digits(individual: Bool)
    case metaspace(replacement: UInt32, prepend: Prepend, split: Bool)
    case sequence([PreTokenizerSpec])

    /// When Metaspace prepends its replacement: every piece, the piece at the start of the text, never.
    enum Prepend: String, Sendable { case always, first, never }

    /// A piece of text on its way to the model; `atStart`: it begins at the start of the input text.
    struct Piece: Equatable {
        var scalars: [UInt32]
        var atStart: Bool
    }

    /// Parses `json` (field `field`); nil for JSON null.
    static func parse(_ json: JSONValue?, field: String = "pre_tokenizer") throws -> PreTokenizerSpec? {
        guard let json, json != .null else { return nil }
        let type = json["type"]?.stringValue ?? ""
        func unsupported(_ what: String, _ key: String = "type") -> TokenizerError { .unsupported(field: "\(field).\(key)", value: what) }
        switch type {
        case "ByteLevel":
            guard json["add_prefix_space"]?.boolValue != true else { throw unsupported("ByteLevel add_prefix_space true", "add_prefix_space") }
            return .byteLevel(useRegex: json["use_regex"]?.boolValue ?? true)
        case "Split":
            guard let regex = json["pattern"]?["Regex"]?.stringValue, let pattern = SplitPattern(rawValue: regex) else {
                throw unsupported("Split pattern \(json["pattern"]?.canonicalText ?? "null") (known regexes: GPT-2, Llama 3, Qwen2)", "pattern")
            }
            guard json["behavior"]?.stringValue == "Isolated", json["invert"]?.boolValue != true else {
                throw unsupported("Split behavior \(json["behavior"]?.canonicalText ?? "null") invert \(json["invert"]?.canonicalText ?? "null") (only Isolated, not inverted)", "behavior")
            }
            return .split(pattern)
        case "Digits":
            return .digits(individual: json["individual_digits"]?.boolValue ?? false)
        case "Metaspace":
            return try metaspace(json, field: field)
        case "Sequence":
            guard let list = json["pretokenizers"]?.arrayValue else {
                throw TokenizerError.badTokenizerJSON(field: "\(field).pretokenizers", expected: "an array")
            }
            return .sequence(try list.enumerated().map { i, p in try parse(p, field: "\(field).pretokenizers[\(i)]")! })
        default:
            throw unsupported("pre-tokenizer \"\(type)\"")
        }
    }

    private static func metaspace(_ json: JSONValue, field: String) throws -> PreTokenizerSpec {
        guard let r = json["replacement"]?.stringValue, r.unicodeScalars.count == 1 else {
            throw TokenizerError.badTokenizerJSON(field: "\(field).replacement", expected: "one character")
        }
        let prepend: Prepend
        if let scheme = json["prepend_scheme"]?.stringValue {
            guard let p = Prepend(rawValue: scheme) else {
                throw TokenizerError.unsupported(field: "\(field).prepend_scheme", value: "\"\(scheme)\" (always, first or never)")
            }
            prepend = p
        } else {
            prepend = json["add_prefix_space"]?.boolValue == false ? .never : .always   // tokenizers < 0.19 files
        }
        return .metaspace(replacement: r.unicodeScalars.first!.value, prepend: prepend, split: json["split"]?.boolValue ?? true)
    }

    /// Whether the model's tokens are GPT-2's byte → character mapping (a ByteLevel step is present).
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let list): return list.contains { $0.isByteLevel }
        default: return false
        }
    }

    /// `pieces` split (and, for Metaspace, rewritten) by this pre-tokenizer.
    func apply(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case .sequence(let list): return list.reduce(pieces) { $1.apply($0) }
        case .byteLevel(let useRegex): return useRegex ? Self.split(pieces, .gpt2) : pieces
        case .split(let pattern): return Self.split(pieces, pattern)
        case .digits(let individual): return Self.digits(pieces, individual: individual)
        case let .metaspace(replacement, prepend, split): return Self.metaspace(pieces, replacement, prepend, split)
        }
    }

    private static func split(_ pieces: [Piece], _ pattern: SplitPattern) -> [Piece] {
        var out: [Piece] = []
        for piece in pieces {
            pattern.split(ScalarText(scalars: piece.scalars)) { s, e in
                out.append(Piece(scalars: Array(piece.scalars[s..<e]), atStart: piece.atStart && s == 0))
            }
        }
        return out
    }

    /// Numbers (`char::is_numeric`: N*) isolated, one by one or as runs.
    private static func digits(_ pieces: [Piece], individual: Bool) -> [Piece] {
        var out: [Piece] = []
        for piece in pieces {
            var start = 0
            let v = piece.scalars
            while start < v.count {
                let number = ScalarClass.of(v[start]) == .number
                var end = start + 1
                if !(number && individual) {
                    while end < v.count && (ScalarClass.of(v[end]) == .number) == number { end += 1 }
                }
                out.append(Piece(scalars: Array(v[start..<end]), atStart: piece.atStart && start == 0))
                start = end
            }
        }
        return out
    }

    /// Spaces → `replacement`, the prefix per `prepend`, then (with `split`) a split before each
    /// replacement character (tokenizers' `MergedWithNext`).
    private static func metaspace(_ pieces: [Piece], _ r: UInt32, _ prepend: Prepend, _ split: Bool) -> [Piece] {
        var out: [Piece] = []
        for piece in pieces {
            var v = piece.scalars.map { $0 == 0x20 ? r : $0 }
            if v.first != r && (prepend == .always || (prepend == .first && piece.atStart)) { v.insert(r, at: 0) }
            guard split else { out.append(Piece(scalars: v, atStart: piece.atStart)); continue }
            var start = 0
            for i in 1..<max(v.count, 1) where v[i] == r {
                out.append(Piece(scalars: Array(v[start..<i]), atStart: piece.atStart && start == 0))
                start = i
            }
            if start < v.count { out.append(Piece(scalars: Array(v[start...]), atStart: piece.atStart && start == 0)) }
        }
        return out
    }
}
