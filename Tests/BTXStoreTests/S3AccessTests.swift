@testable import BTXStore
import Foundation
import TestSupport
import XCTest

/// The AWS credential chain (environment, profiles in the shared credentials and config files),
/// region and endpoint lookup, and `s3://` URLs in path and virtual-host style.
final class S3AccessTests: XCTestCase {
    private var dir: TemporaryDirectory!

    override func setUpWithError() throws {
        dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path("home/.aws"), withIntermediateDirectories: true)
        try """
        # shared credentials
        [default]
        aws_access_key_id = DEFAULTKEY
        aws_secret_access_key = default-secret

        [ci]
        aws_access_key_id=CIKEY
        aws_secret_access_key=ci-secret
        aws_session_token = ci-token
        """.write(toFile: dir.path("home/.aws/credentials"), atomically: true, encoding: .utf8)
        try """
        [default]
        region = eu-west-3
        [profile ci]
        region = us-west-2
        s3 =
            endpoint_url = http://minio.internal:9000
            addressing_style = path
        [profile configured]
        aws_access_key_id = CONFIGKEY
        aws_secret_access_key = config-secret
        endpoint_url = https://r2.example.com
        [sso-session ci]
        region = ap-south-1
        """.write(toFile: dir.path("home/.aws/config"), atomically: true, encoding: .utf8)
    }

    override func tearDown() { dir = nil }

    private func access(_ url: String = "s3://btx-cache/runs/1", environment: [String: String] = [:],
                        configure: (inout RemoteConfig) -> Void = { _ in }) throws -> S3Access {
        var remote = try RemoteConfig(name: "s3", url: url)
        configure(&remote)
        return try S3Access.resolve(for: remote, environment: ["HOME": dir.path("home")].merging(environment) { $1 })
    }

    private func keys(_ access: S3Access) -> [String?] {
        guard case let .awsSigV4(key, secret, token, signing) = access.credentials else { return [] }
        return [key, secret, token, signing]
    }

    func testEnvironmentKeysComeFirstAndCarryTheSessionToken() throws {
        let found = try access(environment: ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "env-secret",
                                             "AWS_SESSION_TOKEN": "env-token", "AWS_PROFILE": "ci", "AWS_REGION": "eu-north-1"])
        XCTAssertEqual(keys(found), ["ENVKEY", "env-secret", "env-token", "aws:amz:eu-north-1:s3"])
        XCTAssertEqual(found.source, "environment")
    }

    func testTheDefaultProfileAndItsRegionComeFromTheSharedFiles() throws {
        let found = try access()
        XCTAssertEqual(keys(found), ["DEFAULTKEY", "default-secret", nil, "aws:amz:eu-west-3:s3"])
        XCTAssertEqual(found.source, "profile 'default' in \(dir.path("home/.aws/credentials"))")
        XCTAssertEqual(try found.url(bucket: "btx-cache", prefix: "runs/1"), "https://btx-cache.s3.eu-west-3.amazonaws.com/runs/1")
    }

    func testAWSProfileSelectsAProfileWithTokenRegionNestedEndpointAndPathStyle() throws {
        let found = try access(environment: ["AWS_PROFILE": "ci"])
        XCTAssertEqual(keys(found), ["CIKEY", "ci-secret", "ci-token", "aws:amz:us-west-2:s3"])
        XCTAssertEqual(found.endpoint, "http://minio.internal:9000")
        XCTAssertEqual(found.addressing, .path)
        XCTAssertEqual(try found.url(bucket: "btx-cache", prefix: "runs/1"), "http://minio.internal:9000/btx-cache/runs/1")
    }

    func testKeysInTheConfigFileAndExplicitFilesAndEndpointVariablesWork() throws {
        let found = try access(environment: ["AWS_PROFILE": "configured"])
        XCTAssertEqual(keys(found), ["CONFIGKEY", "config-secret", nil, "aws:amz:us-east-1:s3"])
        XCTAssertEqual(try found.url(bucket: "b-1", prefix: ""), "https://r2.example.com/b-1", "a custom endpoint defaults to path style")
        try "[other]\naws_access_key_id = OTHERKEY\naws_secret_access_key = other-secret\n"
            .write(toFile: dir.path("creds"), atomically: true, encoding: .utf8)
        let other = try access(environment: ["AWS_SHARED_CREDENTIALS_FILE": dir.path("creds"), "AWS_CONFIG_FILE": dir.path("none"),
                                             "AWS_DEFAULT_PROFILE": "other", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
                                             "AWS_DEFAULT_REGION": "auto"])
        XCTAssertEqual(keys(other), ["OTHERKEY", "other-secret", nil, "aws:amz:auto:s3"])
        XCTAssertEqual(try other.url(bucket: "bkt", prefix: "p"), "http://127.0.0.1:9000/bkt/p")
        let s3First = try access(environment: ["AWS_ENDPOINT_URL": "http://general:1", "AWS_ENDPOINT_URL_S3": "http://s3only:2"])
        XCTAssertEqual(s3First.endpoint, "http://s3only:2")
    }

    func testARemotesOwnFieldsBeatTheEnvironment() throws {
        let found = try access(environment: ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "env-secret",
                                             "AWS_ENDPOINT_URL": "http://ignored:1"]) { remote in
            (remote.profile, remote.region, remote.endpoint, remote.addressingStyle) = ("ci", "sa-east-1", "https://ceph.example:8443/s3", "virtual")
        }
        XCTAssertEqual(keys(found), ["CIKEY", "ci-secret", "ci-token", "aws:amz:sa-east-1:s3"])
        XCTAssertEqual(try found.url(bucket: "btx", prefix: "a/b"), "https://btx.ceph.example:8443/s3/a/b")
    }

    func testAddressingStylesFormTheirURLs() throws {
        var found = try access()
        found.endpoint = nil
        XCTAssertEqual(try found.url(bucket: "my.bucket", prefix: "x"), "https://s3.eu-west-3.amazonaws.com/my.bucket/x",
                       "a dotted bucket stays path-style under TLS")
        found.addressing = .path
        XCTAssertEqual(try found.url(bucket: "b-b", prefix: "x/y"), "https://s3.eu-west-3.amazonaws.com/b-b/x/y")
        found.addressing = .virtual
        found.endpoint = "http://127.0.0.1:9000/"
        XCTAssertEqual(try found.url(bucket: "b-b", prefix: ""), "http://b-b.127.0.0.1:9000")
        found.endpoint = "ftp://x"
        XCTAssertThrowsError(try found.url(bucket: "b-b", prefix: "")) { XCTAssertTrue("\($0)".contains("not an http(s)")) }
    }

    func testS3URLsSplitIntoBucketAndPrefixAndBadBucketsAreRefused() throws {
        XCTAssertEqual(try S3Access.bucketAndPrefix("s3://bucket/a/b/")?.bucket, "bucket")
        XCTAssertEqual(try S3Access.bucketAndPrefix("s3://bucket//a/b/")?.prefix, "a/b")
        XCTAssertEqual(try S3Access.bucketAndPrefix("s3://bucket")?.prefix, "")
        XCTAssertNil(try S3Access.bucketAndPrefix("https://bucket"))
        for bad in ["s3://", "s3://UPPER/x", "s3://a/x", "s3://under_score"] {
            XCTAssertThrowsError(try RemoteConfig(name: "r", url: bad), bad) { XCTAssertTrue("\($0)".contains("not an S3 bucket name"), "\($0)") }
        }
    }

    func testMissingCredentialsAndMalformedFilesAreOneLineErrorsWithoutSecrets() throws {
        XCTAssertThrowsError(try access(environment: ["AWS_PROFILE": "nobody"])) { error in
            XCTAssertTrue("\(error)".contains("profile 'nobody'"), "\(error)")
            XCTAssertTrue("\(error)".contains("AWS_ACCESS_KEY_ID"), "\(error)")
            XCTAssertFalse("\(error)".contains("-secret"), "\(error)")
        }
        try "[default]\naws_secret_access_key = very-secret\nthis line is wrong\n".write(toFile: dir.path("bad"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try access(environment: ["AWS_SHARED_CREDENTIALS_FILE": dir.path("bad")])) { error in
            XCTAssertEqual("\(error)", "\(dir.path("bad")):3: expected `key = value`")
        }
        XCTAssertThrowsError(try access { $0.addressingStyle = "sideways" }) { XCTAssertTrue("\($0)".contains("not path, virtual or auto")) }
    }

    func testAnS3RemoteResolvesToItsEndpointURLAndSigningString() throws {
        let remote = try RemoteConfig(name: "s3", url: "s3://btx-cache/runs")
        let (resolved, credentials) = try remote.resolved(environment: ["HOME": dir.path("home"), "AWS_PROFILE": "ci"])
        XCTAssertEqual(resolved.url, "http://minio.internal:9000/btx-cache/runs")
        XCTAssertEqual(resolved.sigv4, "aws:amz:us-west-2:s3")
        guard case .awsSigV4(let key, _, _, _)? = credentials else { return XCTFail("not SigV4") }
        XCTAssertEqual(key, "CIKEY")
        let plain = try RemoteConfig(name: "h", url: "https://cache.example/btx").resolved(environment: ["BTXPIPE_HTTP_TOKEN": "t"])
        XCTAssertEqual(plain.config.url, "https://cache.example/btx")
        guard case .bearer? = plain.credentials else { return XCTFail("a plain HTTP remote keeps BTXPIPE_HTTP_*") }
    }
}
