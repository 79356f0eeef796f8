import Foundation

/// How bucket names go into S3 URLs.
public enum S3Addressing: String, Sendable, CaseIterable {
    /// `https://endpoint/bucket/key`: MinIO, Ceph RGW and most S3-compatible servers.
    case path
    /// `https://bucket.endpoint/key`: AWS's default.
    case virtual
    /// Virtual-host style on AWS when the bucket name allows it, path style on any other endpoint.
    case auto
}

/// Credentials, region, endpoint and addressing for an S3 remote, found the way the AWS CLI finds
/// them (never printed: `source` says only where they came from):
/// - credentials: a remote's own `profile:` if it names one; else `AWS_ACCESS_KEY_ID` +
///   `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`); else the profile `AWS_PROFILE` (or
///   `AWS_DEFAULT_PROFILE`, or `default`) in `AWS_SHARED_CREDENTIALS_FILE` (`~/.aws/credentials`),
///   then in `AWS_CONFIG_FILE` (`~/.aws/config`, `[profile name]` sections);
/// - region: the remote's `region:`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, us-east-1;
/// - endpoint: the remote's `endpoint:`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's
///   `s3 = endpoint_url` or `endpoint_url`; else AWS (`https://s3.<region>.amazonaws.com`);
/// - addressing: the remote's `addressing_style:`, the profile's `s3 = addressing_style`, else auto.
public struct S3Access: Sendable {
    /// The signing credentials (`HTTPCredentials.awsSigV4`).
    public var credentials: HTTPCredentials
    /// The region requests are signed for.
    public var region: String
    /// The endpoint (scheme, host, port), nil for AWS itself.
    public var endpoint: String?
    /// Path- or virtual-host-style.
    public var addressing: S3Addressing
    /// Where the credentials came from, e.g. "environment" or "profile 'ci' in /home/u/.aws/credentials".
    public var source: String

    /// The chain for `remote` (its `profile`, `region`, `endpoint`, `addressing_style` fields) over
    /// `environment` (which also gives `HOME`).
    public static func resolve(for remote: RemoteConfig, environment: [String: String]) throws -> S3Access {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let credentialsFile = nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? "\(home)/.aws/credentials"
        let configFile = nonEmpty(environment["AWS_CONFIG_FILE"]) ?? "\(home)/.aws/config"
        let profileName = remote.profile ?? nonEmpty(environment["AWS_PROFILE"]) ?? nonEmpty(environment["AWS_DEFAULT_PROFILE"]) ?? "default"
        let credentialsProfile = try AWSSharedConfig.load(credentialsFile, isConfig: false)?.profiles[profileName]
        let configProfile = try AWSSharedConfig.load(configFile, isConfig: true)?.profiles[profileName]
        let region = remote.region ?? nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
            ?? nonEmpty(configProfile?["region"]) ?? "us-east-1"
        var keys: (key: String, secret: String, token: String?, source: String)?
        if remote.profile == nil, let key = nonEmpty(environment["AWS_ACCESS_KEY_ID"]),
           let secret = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"]) {
            keys = (key, secret, nonEmpty(environment["AWS_SESSION_TOKEN"]), "environment")
        } else {
            for (fields, file) in [(credentialsProfile, credentialsFile), (configProfile, configFile)] {
                guard let fields, let key = nonEmpty(fields["aws_access_key_id"]),
                      let secret = nonEmpty(fields["aws_secret_access_key"]) else { continue }
                keys = (key, secret, nonEmpty(fields["aws_session_token"]), "profile '\(profileName)' in \(file)")
                break
            }
        }
        guard let keys else {
            throw RemoteError.credentials("""
                remote '\(remote.name)' signs with SigV4 but found no credentials: set AWS_ACCESS_KEY_ID and \
                AWS_SECRET_ACCESS_KEY, or put profile '\(profileName)' with aws_access_key_id and \
                aws_secret_access_key in \(credentialsFile) (or AWS_PROFILE=name)
                """)
        }
        let endpoint = remote.endpoint ?? nonEmpty(environment["AWS_ENDPOINT_URL_S3"]) ?? nonEmpty(environment["AWS_ENDPOINT_URL"])
            ?? nonEmpty(configProfile?["s3.endpoint_url"]) ?? nonEmpty(configProfile?["endpoint_url"])
        let style = remote.addressingStyle ?? nonEmpty(configProfile?["s3.addressing_style"])
        guard let addressing = S3Addressing(rawValue: style ?? "auto") else {
            throw RemoteError.invalidConfig("remote '\(remote.name)': addressing_style '\(style ?? "")' is not path, virtual or auto")
        }
        let signing = "aws:amz:\(region):s3"
        return S3Access(credentials: .awsSigV4(accessKey: keys.key, secretKey: keys.secret, sessionToken: keys.token, signing: signing),
                        region: region, endpoint: endpoint, addressing: addressing, source: keys.source)
    }

    /// The HTTP(S) base URL of `s3://bucket/prefix` with this endpoint and addressing.
    public func url(bucket: String, prefix: String) throws -> String {
        let base = endpoint ?? "https://s3.\(region).amazonaws.com"
        guard var components = URLComponents(string: base), let scheme = components.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty,
              components.query == nil, components.fragment == nil else {
            throw RemoteError.invalidConfig("S3 endpoint \(HTTPError.redacted(base)) is not an http(s)://host[:port] URL")
        }
        let basePath = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        let tail = prefix.isEmpty ? "" : "/\(prefix)"
        // NOTE: a bucket with dots cannot be a TLS host name under a wildcard certificate: auto keeps it path-style.
        let virtual = addressing == .virtual
            || (addressing == .auto && endpoint == nil && !(scheme == "https" && bucket.contains(".")))
        if virtual {
            components.host = "\(bucket).\(host)"
            components.path = basePath + tail
        } else {
            components.path = basePath + "/\(bucket)" + tail
        }
        guard let url = components.string else { throw RemoteError.invalidConfig("cannot form a URL for s3://\(bucket)\(tail)") }
        return url
    }

    /// `s3://bucket/prefix` split into bucket and prefix (no leading or trailing '/'); nil for other URLs.
    public static func bucketAndPrefix(_ url: String) throws -> (bucket: String, prefix: String)? {
        guard url.lowercased().hasPrefix("s3://") else { return nil }
        let rest = url.dropFirst("s3://".count)
        let bucket = String(rest.prefix { $0 != "/" })
        let prefix = rest.dropFirst(bucket.count).split(separator: "/").joined(separator: "/")
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard (3...63).contains(bucket.count), bucket.allSatisfy(allowed.contains),
              bucket.first?.isLetter ?? false || bucket.first?.isNumber ?? false else {
            throw RemoteError.invalidConfig("\(url): '\(bucket)' is not an S3 bucket name (3-63 of a-z 0-9 . -)")
        }
        return (bucket, prefix)
    }

    private static func nonEmpty(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
}
