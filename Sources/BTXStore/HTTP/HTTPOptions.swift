import Foundation

/// Credentials for HTTP servers. They are handed to libcurl only, never printed or logged.
public enum HTTPCredentials: Sendable {
    /// HTTP Basic user and password.
    case basic(user: String, password: String)
    /// `Authorization: Bearer <token>`.
    case bearer(String)

    /// Reads `BTXPIPE_HTTP_TOKEN`, else `BTXPIPE_HTTP_USER` + `BTXPIPE_HTTP_PASSWORD`, from the
    /// environment passed in (the documented credential variables; nil when none are set).
    public static func fromEnvironment(_ environment: [String: String]) -> HTTPCredentials? {
        if let token = environment["BTXPIPE_HTTP_TOKEN"], !token.isEmpty { return .bearer(token) }
        if let user = environment["BTXPIPE_HTTP_USER"], !user.isEmpty {
            return .basic(user: user, password: environment["BTXPIPE_HTTP_PASSWORD"] ?? "")
        }
        return nil
    }
}

/// A snapshot of a running transfer for progress displays.
public struct HTTPProgress: Sendable {
    /// Bytes of the body so far (including a resumed prefix).
    public let bytes: Int64
    /// Expected total, when the server said.
    public let total: Int64?
    /// Bytes per second over this attempt.
    public let bytesPerSecond: Double
    /// Seconds left at the current rate, when the total is known.
    public let etaSeconds: Double?
}

/// How an `HTTPClient` transfers: timeouts, retries, limits, credentials, progress.
public struct HTTPOptions {
    /// Extra request headers, e.g. `["Accept": "application/json"]`.
    public var headers: [String: String] = [:]
    /// Seconds to establish a connection.
    public var connectTimeout: Double = 15
    /// Abort when fewer than 1 byte/s flows for this many seconds (the idle timeout).
    public var idleTimeout: Double = 30
    /// Retries after the first attempt, for timeouts, 5xx/429 answers and cut bodies.
    public var maxRetries = 5
    /// First backoff delay in seconds; it doubles per retry up to `maxBackoff`.
    public var backoff: Double = 0.5
    /// Longest delay between retries.
    public var maxBackoff: Double = 30
    /// Largest body accepted, in bytes (nil: no limit).
    public var maxBytes: Int64?
    /// Credentials to send (see `HTTPCredentials.fromEnvironment`).
    public var credentials: HTTPCredentials?
    /// Whether to use `.netrc` for hosts without explicit credentials.
    public var useNetrc = true
    /// The `.netrc` to read (nil: libcurl's default, `$HOME/.netrc`).
    public var netrcFile: String?
    /// Called a few times a second with the transfer's progress; return false to cancel.
    public var progress: ((HTTPProgress) -> Bool)?

    /// Defaults: 15 s connect, 30 s idle, 5 retries from 0.5 s backoff, no size limit, `.netrc` on.
    public init() {}
}

/// What the server answered.
public struct HTTPResponse: Sendable {
    /// Final HTTP status (0 for `file://`).
    public let status: Int
    /// Response headers of the final answer, names lower-cased.
    public let headers: [String: String]
    /// Body bytes received in this call (a resumed prefix not counted).
    public let bytesReceived: Int64
    /// Attempts made (1 = no retry).
    public let attempts: Int
}
