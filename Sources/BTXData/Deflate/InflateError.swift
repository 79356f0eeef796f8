/// Why a DEFLATE (RFC 1951) or gzip (RFC 1952) stream could not be decoded.
public enum InflateError: Error, CustomStringConvertible, Equatable {
    case truncated
    case badBlockType(Int)
    case storedLengthMismatch
    case badCodeLengths(String)
    case invalidCode
    case distanceTooFar(distance: Int, available: Int)
    case notGzip
    case unsupportedMethod(Int)
    case badHeader(String)
    case checksumMismatch(expected: UInt32, actual: UInt32)
    case sizeMismatch(expected: UInt32, actual: UInt32)
    case trailingGarbage

    public var description: String {
        switch self {
        case .truncated: return "compressed stream ends early (truncated file?)"
        case let .badBlockType(t): return "invalid DEFLATE block type \(t) (expected 0, 1 or 2)"
        case .storedLengthMismatch: return "stored DEFLATE block: LEN and NLEN do not match"
        case let .badCodeLengths(why): return "invalid Huffman code lengths: \(why)"
        case .invalidCode: return "invalid Huffman code in DEFLATE data"
        case let .distanceTooFar(d, a): return "back-reference distance \(d) exceeds the \(a) bytes decoded so far"
        case .notGzip: return "not a gzip stream (expected magic bytes 1f 8b)"
        case let .unsupportedMethod(m): return "gzip compression method \(m) is not DEFLATE (8)"
        case let .badHeader(why): return "bad gzip header: \(why)"
        case let .checksumMismatch(e, a):
            return "gzip CRC-32 mismatch: header says \(String(e, radix: 16)), data gives \(String(a, radix: 16))"
        case let .sizeMismatch(e, a): return "gzip size mismatch: trailer says \(e) bytes, decoded \(a)"
        case .trailingGarbage: return "unexpected bytes after the last gzip member"
        }
    }
}
