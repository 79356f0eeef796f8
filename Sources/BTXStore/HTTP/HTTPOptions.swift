import Foundation

/// Credentials for HTTP servers. They are handed to libcurl only, never printed or logged.
public enum HTTPCredentials: Sendable {
    /// HTTP Basic user and password.
    case basic(user: String, password: String)
    /// AWS Signature V4 (`CURLOPT_AWS_SIGV4`): `signing` is curl's "provider1:provider2:region:service"
    /// (e.g. "aws:amz:us-east-1:s3"); every request carries `x-amz-content-sha256` of its real body.
    case awsSigV4(accessKey: String, secretKey: String, sessionToken: String?, signing: String)
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

    /// The hosts (`host` or `host:port`) that may receive the `BTXPIPE_HTTP_*` credentials in
    /// requests other than to a remote store: `BTXPIPE_HTTP_CREDENTIAL_HOSTS`, comma-separated.
    /// Unset or empty: none, so a dataset URL in a pipeline never gets the remote store's secrets.
    public static func hostsFromEnvironment(_ environment: [String: String]) -> Set<String> {
        Set((environment["BTXPIPE_HTTP_CREDENTIAL_HOSTS"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
    }

    /// The `host` and `host:port` forms of `url`'s authority (lower-cased), as scopes list them.
    public static func authorities(of url: String) -> Set<String> {
        guard let components = URLComponents(string: url), let host = components.host?.lowercased(), !host.isEmpty else { return [] }
        let port = components.port ?? (components.scheme?.lowercased() == "https" ? 443 : 80)
        return [host, "\(host):\(port)"]
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
    /// Where `credentials` may go: nil sends them with every request of this client (a remote store,
    /// whose URLs all share its base); a set sends them only to URLs whose `host` or `host:port` is
    /// in it (`HTTPCredentials.hostsFromEnvironment`). Never sent across a redirect to another host
    /// or port, and an https URL never follows a redirect to http.
    public var credentialHosts: Set<String>?
    /// Whether to use `.netrc` for hosts without explicit credentials.
    public var useNetrc = true
    /// Whether to follow redirects. Off, a 3xx answer throws `HTTPError.redirected` (content-addressed
    /// remotes use this so that no answer from another host can be stored).
    public var followRedirects = true
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
