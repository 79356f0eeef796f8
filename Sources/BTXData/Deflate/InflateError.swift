/// Why a gzip (RFC 1952) stream could not be decoded.
public enum InflateError: Error, CustomStringConvertible, Equatable {
    case truncated
    case notGzip
    case unsupportedMethod
    case corrupt(String)
    case checksumMismatch
    case sizeMismatch
    case trailingGarbage
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .truncated: return "compressed stream ends early (truncated file?)"
        case .notGzip: return "not a gzip stream (expected magic bytes 1f 8b)"
        case .unsupportedMethod: return "gzip compression method is not DEFLATE (8)"
        case let .corrupt(why): return "corrupt gzip data: \(why)"
        case .checksumMismatch: return "gzip CRC-32 mismatch: the data does not match its trailer (corrupt file?)"
        case .sizeMismatch: return "gzip size mismatch: the data does not match the trailer's length"
        case .trailingGarbage: return "unexpected bytes after the last gzip member"
        case let .tooLarge(limit): return "gzip data decompresses to more than the limit of \(limit) bytes"
        }
    }
}
