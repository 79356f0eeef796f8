/// Why an HTTP transfer failed. URLs in messages have any user:password part removed.
public enum HTTPError: Error, CustomStringConvertible, Equatable {
    /// The server answered with an error status (after retries, for 5xx).
    case status(method: String, url: String, code: Int)
    /// libcurl failed (timeout, refused connection, cut body, TLS…) after `attempts` tries.
    case transport(method: String, url: String, curlCode: Int, message: String, attempts: Int)
    /// The body exceeded the size limit.
    case tooLarge(url: String, limit: Int64)
    /// The progress callback asked to stop.
    case cancelled(url: String)
    /// A local file for the body could not be opened or written.
    case localFile(path: String, reason: String)
    /// libcurl could not be set up.
    case setup(String)

    public var description: String {
        switch self {
        case let .status(method, url, code):
            let hint = code == 404 ? " (not found: check the URL)" : code == 401 || code == 403 ? " (check credentials: .netrc or BTXPIPE_HTTP_* variables)" : ""
            return "\(method) \(url) answered HTTP \(code)\(hint)"
        case let .transport(method, url, code, message, attempts):
            return "\(method) \(url) failed after \(attempts) attempt(s): \(message) (curl error \(code))"
        case let .tooLarge(url, limit): return "\(url) is larger than the limit of \(limit) bytes"
        case let .cancelled(url): return "transfer of \(url) cancelled"
        case let .localFile(path, reason): return "\(path): \(reason)"
        case let .setup(why): return "cannot set up libcurl: \(why)"
        }
    }

    /// `url` without credentials, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + "***@" + String(rest[rest.index(after: at)...])
    }
}
