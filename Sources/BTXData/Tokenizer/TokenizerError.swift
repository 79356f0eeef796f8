/// Errors of building, reading or using a tokenizer; each names the field or id and what was expected.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// btxpipe's binary tokenizer object is malformed.
    case badSerialization(String)
    /// A `tokenizer.json` field is missing or malformed.
    case badTokenizerJSON(field: String, expected: String)
    /// A `tokenizer.json` uses a kind or option btxpipe does not implement (refused, never approximated).
    case unsupported(field: String, value: String)
    /// A vocabulary size a trainer cannot produce.
    case invalidVocabSize(Int)
    /// An id outside the vocabulary.
    case unknownToken(UInt32)

    public var description: String {
        switch self {
        case let .badSerialization(why): return "tokenizer object is not valid: \(why)"
        case let .badTokenizerJSON(field, expected): return "tokenizer.json: field \(field): expected \(expected)"
        case let .unsupported(field, value):
            return "tokenizer.json: field \(field): unsupported \(value) (btxpipe supports byte-level BPE and SentencePiece-style BPE with byte fallback; it refuses rather than encode differently)"
        case let .invalidVocabSize(n): return "vocab size \(n) is out of range (expected 258...65536+)"
        case let .unknownToken(id): return "token id \(id) is not in the vocabulary"
        }
    }
}
