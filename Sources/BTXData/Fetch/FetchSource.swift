import BTXStore

/// Errors of fetching a corpus source.
public enum FetchError: Error, CustomStringConvertible {
    case missingPin(url: String, actual: ObjectHash)
    case pinMismatch(url: String, expected: String, actual: ObjectHash)
    case badPin(String)
    case unsupportedURL(String)

    public var description: String {
        switch self {
        case let .missingPin(url, actual):
            return "\(url) has no sha256 pin; after checking the file, pin it with:  sha256: \(actual.hex)"
        case let .pinMismatch(url, expected, actual):
            return "\(url): content SHA-256 is \(actual.hex) but the pin says \(expected); nothing was stored"
        case let .badPin(text): return "sha256 pin '\(text)' is not 64 hex digits"
        case let .unsupportedURL(url): return "unsupported source URL \(url) (expected https://, http://, file:// or a local path)"
        }
    }
}

/// What to fetch: a URL (remote http(s), pinned by SHA-256) or a local path/glob, and how to
/// split it into documents.
public struct FetchSource: Sendable {
    /// `https://…`, `http://…`, `file:///…` or a plain path; local ones may end in a glob.
    public var url: String
    /// For a local directory: relative-path globs to include / exclude.
    public var include: [String] = [], exclude: [String] = []
    /// How files split into documents.
    public var format: DocumentFormat = .text
    /// The SHA-256 (hex) a remote file must have.
    public var sha256: String?
    /// Keep at most this many bytes of documents (deterministic sample), nil: all.
    public var maxBytes: Int?

    /// A source for `url`.
    public init(url: String) { self.url = url }

    /// Whether the source is read through HTTP (and so must be pinned).
    public var isRemote: Bool { url.hasPrefix("http://") || url.hasPrefix("https://") }

    /// The local path for `file://` URLs and plain paths.
    var localPath: String { url.hasPrefix("file://") ? String(url.dropFirst(7)) : url }
}
