import Foundation

/// One remote store as configured: a name, the base URL of the store layout, whether this machine
/// may push to it, and how requests are signed.
///
/// In a pipeline spec:
/// ```yaml
/// remotes:
///   - {name: shared, url: "https://cache.example.org/btx"}
///   - {name: s3, url: "http://127.0.0.1:9000/bucket/btx", sigv4: "aws:amz:us-east-1:s3", read_only: true}
///   - {name: lustre, url: "file:///lustre/project/btx-store"}   # a second store on a shared path
///   - {name: minio, url: "s3://btx-cache/runs", profile: minio, addressing_style: path}
/// ```
/// An `s3://bucket/prefix` remote is signed with SigV4 and finds its credentials, region and
/// endpoint through the standard AWS chain (`S3Access`).
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
    /// The AWS profile for an S3 remote (`profile:`; else `AWS_PROFILE`, else `default`).
    public var profile: String?
    /// The S3 region (`region:`; else the AWS chain's).
    public var region: String?
    /// The S3 endpoint, e.g. "http://minio:9000" (`endpoint:`; else the AWS chain's).
    public var endpoint: String?
    /// "path", "virtual" or "auto" (`addressing_style:`; else the profile's).
    public var addressingStyle: String?

    /// Whether this is an `s3://bucket/prefix` remote.
    public var isS3: Bool { url.lowercased().hasPrefix("s3://") }

    /// A remote; `url` must be http(s) or `file:///absolute/path`, a trailing '/' is dropped.
    public init(name: String, url: String, readOnly: Bool = false, sigv4: String? = nil) throws {
        let lower = url.lowercased()
        guard ["http://", "https://", "file://", "s3://"].contains(where: lower.hasPrefix) else {
            throw RemoteError.invalidConfig("remote '\(name)': url \(HTTPError.redacted(url)) is not http(s)://, s3:// or file://")
        }
        _ = try S3Access.bucketAndPrefix(url)
        if lower.hasPrefix("file://") {
            guard Self.path(ofFileURL: url) != nil else {
                throw RemoteError.invalidConfig("remote '\(name)': \(url) is not file:///absolute/path")
            }
            guard sigv4 == nil else { throw RemoteError.invalidConfig("remote '\(name)': a file:// remote is not signed (drop sigv4)") }
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

    /// The directory of a `file://` remote (a store on a shared path), nil for HTTP(S).
    public var directoryPath: String? { Self.path(ofFileURL: url) }

    /// The absolute path of `file:///path` or `file://localhost/path` (percent-decoded), nil otherwise.
    static func path(ofFileURL url: String) -> String? {
        guard url.lowercased().hasPrefix("file://") else { return nil }
        var rest = String(url.dropFirst("file://".count))
        if rest.lowercased().hasPrefix("localhost/") { rest = String(rest.dropFirst("localhost".count)) }
        guard rest.hasPrefix("/"), let path = rest.removingPercentEncoding, path.count > 1 else { return nil }
        return path
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
        let known: Set = ["name", "url", "read_only", "sigv4", "profile", "region", "endpoint", "addressing_style"]
        if let extra = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw RemoteError.invalidConfig("remote '\(name)': unknown field `\(extra)` (known: url, read_only, sigv4, profile, region, endpoint, addressing_style)")
        }
        guard let url = fields["url"]?.stringValue else { throw RemoteError.invalidConfig("remote '\(name)' needs a `url` string") }
        let readOnly = fields["read_only"]
        guard readOnly == nil || readOnly?.boolValue != nil else {
            throw RemoteError.invalidConfig("remote '\(name)': read_only must be true or false")
        }
        var config = try RemoteConfig(name: name, url: url, readOnly: readOnly?.boolValue ?? false, sigv4: fields["sigv4"]?.stringValue)
        config.profile = fields["profile"]?.stringValue
        config.region = fields["region"]?.stringValue
        config.endpoint = fields["endpoint"]?.stringValue
        config.addressingStyle = fields["addressing_style"]?.stringValue
        if let style = config.addressingStyle, S3Addressing(rawValue: style) == nil {
            throw RemoteError.invalidConfig("remote '\(name)': addressing_style '\(style)' is not path, virtual or auto")
        }
        return config
    }

    /// `selector` as a remote: a URL stands for itself, anything else must name one of `configured`.
    public static func select(_ selector: String, from configured: [RemoteConfig]) throws -> RemoteConfig {
        if selector.contains("://") { return try RemoteConfig(name: HTTPError.redacted(selector), url: selector) }
        guard let found = configured.first(where: { $0.name == selector }) else {
            throw RemoteError.unknownRemote(selector, known: configured.map(\.name))
        }
        return found
    }

    /// The credentials for this remote from `environment`: for SigV4 and `s3://` remotes, the AWS
    /// chain (`S3Access`); otherwise the `BTXPIPE_HTTP_*` variables. nil falls back to `.netrc`.
    public func credentials(from environment: [String: String]) throws -> HTTPCredentials? {
        try resolved(environment: environment).credentials
    }

    /// The remote as transfers reach it: an `s3://` URL turned into its endpoint's HTTP(S) URL and
    /// signing string, with the credentials found for it.
    public func resolved(environment: [String: String]) throws -> (config: RemoteConfig, credentials: HTTPCredentials?) {
        guard sigv4 != nil || isS3 else { return (self, HTTPCredentials.fromEnvironment(environment)) }
        let access = try S3Access.resolve(for: self, environment: environment)
        guard let (bucket, prefix) = try S3Access.bucketAndPrefix(url) else {
            guard case let .awsSigV4(key, secret, token, _) = access.credentials, let sigv4 else { return (self, access.credentials) }
            return (self, .awsSigV4(accessKey: key, secretKey: secret, sessionToken: token, signing: sigv4))
        }
        var http = self
        http.url = try access.url(bucket: bucket, prefix: prefix)
        http.sigv4 = sigv4 ?? "aws:amz:\(access.region):s3"
        return (http, access.credentials)
    }
}
