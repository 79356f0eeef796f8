import Foundation
import TestSupport
import XCTest
@testable import BTXStore

/// Credentials go only where they are scoped to (issue 15, item 3): two local servers, one holding
/// the data behind a redirect from the other.
final class HTTPCredentialScopeTests: XCTestCase {
    private var directories: [TemporaryDirectory] = []
    private var servers: [LocalHTTPServer] = []

    override func setUpWithError() throws {
        for _ in 0..<2 {
            let directory = try TemporaryDirectory()
            directories.append(directory)
            guard let server = try? LocalHTTPServer(root: directory.url) else { throw XCTSkip("python3 test server did not start") }
            servers.append(server)
            try server.serve("a.bin", Data("payload".utf8))
        }
    }

    override func tearDown() {
        servers.forEach { $0.stop() }
    }

    private func client(hosts: Set<String>?) -> HTTPClient {
        var options = HTTPOptions()
        options.maxRetries = 0
        options.useNetrc = false
        options.credentials = .bearer("secret-token")
        options.credentialHosts = hosts
        return HTTPClient(options: options)
    }

    func testCredentialsGoOnlyToTheHostsTheyAreScopedTo() throws {
        let (a, b) = (servers[0], servers[1])
        let scoped = client(hosts: ["127.0.0.1:\(a.port)"])
        XCTAssertEqual(try scoped.get("\(a.baseURL)/auth/a.bin").0, Data("payload".utf8))
        XCTAssertThrowsError(try scoped.get("\(b.baseURL)/auth/a.bin"), "host b is not in the scope: no token, 401")
        XCTAssert(b.authorizations.allSatisfy { $0.hasSuffix(" -") }, "\(b.authorizations)")
        XCTAssertThrowsError(try client(hosts: []).get("\(a.baseURL)/auth/a.bin"), "an empty scope sends nothing")
    }

    func testCredentialsAreNotCarriedAcrossARedirectToAnotherHost() throws {
        let (a, b) = (servers[0], servers[1])
        let target = "\(b.baseURL)/files/a.bin".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let scoped = client(hosts: ["127.0.0.1:\(a.port)"])
        XCTAssertEqual(try scoped.get("\(a.baseURL)/redirect/\(target)").0, Data("payload".utf8))
        XCTAssert(a.authorizations.contains { $0.contains("/redirect/") && $0.hasSuffix("Bearer secret-token") }, "\(a.authorizations)")
        XCTAssertEqual(b.authorizations, ["GET /files/a.bin -"], "the other host must not see the token")
    }

    func testTheEnvironmentNamesTheHostsAndPlainHTTPIsFlagged() {
        XCTAssertEqual(HTTPCredentials.hostsFromEnvironment(["BTXPIPE_HTTP_CREDENTIAL_HOSTS": " Data.Example.org, cache:8080 ,"]),
                       ["data.example.org", "cache:8080"])
        XCTAssertEqual(HTTPCredentials.hostsFromEnvironment([:]), [])
        XCTAssertEqual(HTTPCredentials.authorities(of: "https://data.example.org/x"), ["data.example.org", "data.example.org:443"])
        XCTAssertEqual(HTTPClient.redirectProtocols(for: "HTTPS://h/x"), "https", "https never follows a redirect to http")
        XCTAssertEqual(HTTPClient.redirectProtocols(for: "http://h/x"), "http,https")
        XCTAssert(client(hosts: ["h"]).sendsCredentialsInClear("http://h/x"))
        XCTAssertFalse(client(hosts: ["h"]).sendsCredentialsInClear("https://h/x"))
        XCTAssertFalse(client(hosts: ["h"]).sendsCredentialsInClear("http://other/x"))
    }
}
