import Foundation

/// One remote store as configured: a name, the base URL of the store layout, whether this machine
/// may push to it, and how requests are signed.
///
/// In a pipeline spec:
/// ```yaml
/// remotes:
///   - {name: shared, url: "https://cache.example.org/btx"}
///   - {name: s3, url: "http://127.0.0.1:9000/bucket/btx", sigv4: "aws:amz:us-east-1:s3", read_only: true}
/// ```
/// A mapping `{shared: URL, …}` or `{shared: {url: …}, …}` works too.
public struct RemoteConfig: Equatable, Sendable {
    /// The name `--remote NAME` selects (the URL itself for a remote given as a URL).
    public var name: String
    /// The base URL: objects live under `<url>/objects/v1/ab/<hash>`, actions under `<url>/actions/v1/<key>`.
    public var url: String
    /// Consume-only: pulls work, pushes are skipped.
    public var readOnly: Bool
    /// curl's SigV4 signing string ("aws:amz:REGION:SERVICE"); nil for plain HTTP(S) (Basic/Bearer/.netrc).
    public var sigv4: String?

    /// A remote; `url` must be http(s), a trailing '/' is dropped.
    public init(name: String, url: String, readOnly: Bool = false, sigv4: String? = nil) throws {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            throw RemoteError.invalidConfig("remote '\(name)': url \(HTTPError.redacted(url)) is not http(s)://")
        }
        guard !url.contains("?"), !url.contains("#") else {
            throw RemoteError.invalidConfig("remote '\(name)': url must not have a query or fragment")
        }
        if let sigv4, sigv4.split(separator: ":").count != 4 {
            throw RemoteError.invalidConfig("remote '\(name)': sigv4 \"\(sigv4)\" is not PROVIDER1:PROVIDER2:REGION:SERVICE")
        }
        self.name = name
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.readOnly = readOnly
        self.sigv4 = sigv4
    }

    /// The remotes of a pipeline's `remotes:` value (a list of mappings, or a mapping by name).
    public static func parse(_ value: JSONValue) throws -> [RemoteConfig] {
        switch value {
        case .null: return []
        case .array(let items):
            return try items.enumerated().map { index, item in
                guard let fields = item.objectValue, let name = fields["name"]?.stringValue else {
                    throw RemoteError.invalidConfig("remotes[\(index)] needs a `name` and a `url`")
                }
                return try entry(name: name, fields)
            }
        case .object(let byName):
            return try byName.keys.sorted().map { name in
                if let url = byName[name]?.stringValue { return try RemoteConfig(name: name, url: url) }
                guard let fields = byName[name]?.objectValue else {
                    throw RemoteError.invalidConfig("remotes.\(name) must be a URL or a mapping with `url`")
                }
                return try entry(name: name, fields)
            }
        default:
            throw RemoteError.invalidConfig("`remotes:` must be a list or a mapping")
        }
    }

    private static func entry(name: String, _ fields: [String: JSONValue]) throws -> RemoteConfig {
        let known: Set = ["name", "url", "read_only", "sigv4"]
        if let extra = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw RemoteError.invalidConfig("remote '\(name)': unknown field `\(extra)` (known: url, read_only, sigv4)")
        }
        guard let url = fields["url"]?.stringValue else { throw RemoteError.invalidConfig("remote '\(name)' needs a `url` string") }
        let readOnly = fields["read_only"]
        guard readOnly == nil || readOnly?.boolValue != nil else {
            throw RemoteError.invalidConfig("remote '\(name)': read_only must be true or false")
        }
        return try RemoteConfig(name: name, url: url, readOnly: readOnly?.boolValue ?? false, sigv4: fields["sigv4"]?.stringValue)
    }

    /// `selector` as a remote: a URL stands for itself, anything else must name one of `configured`.
    public static func select(_ selector: String, from configured: [RemoteConfig]) throws -> RemoteConfig {
        if selector.contains("://") { return try RemoteConfig(name: HTTPError.redacted(selector), url: selector) }
        guard let found = configured.first(where: { $0.name == selector }) else {
            throw RemoteError.unknownRemote(selector, known: configured.map(\.name))
        }
        return found
    }

    /// The credentials for this remote from `environment`: with `sigv4`, `AWS_ACCESS_KEY_ID` +
    /// `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`); otherwise the `BTXPIPE_HTTP_*` variables.
    /// nil falls back to `.netrc`.
    public func credentials(from environment: [String: String]) throws -> HTTPCredentials? {
        guard let sigv4 else { return HTTPCredentials.fromEnvironment(environment) }
        guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty,
              let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw RemoteError.invalidConfig("remote '\(name)' signs with SigV4: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return .awsSigV4(accessKey: key, secretKey: secret, sessionToken: token, signing: sigv4)
    }
}
