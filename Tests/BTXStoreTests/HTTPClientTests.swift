import BTXStore
import Foundation
import TestSupport
import XCTest

final class HTTPClientTests: LocalHTTPServerTestCase {
    private var dir: TemporaryDirectory!
    private let body = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })

    override func setUpWithError() throws {
        try super.setUpWithError()
        dir = try TemporaryDirectory()
        try server.serve("a.bin", body)
    }

    private func client(retries: Int = 3) -> HTTPClient {
        var options = HTTPOptions()
        options.maxRetries = retries
        options.backoff = 0.01
        options.useNetrc = false
        return HTTPClient(options: options)
    }

    func testGetToMemoryAndToFileGiveTheServedBytes() throws {
        let (data, response) = try client().get("\(server.baseURL)/files/a.bin")
        XCTAssertEqual(data, body)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.attempts, 1)
        let file = URL(fileURLWithPath: dir.path("out.bin"))
        try client().get("\(server.baseURL)/files/a.bin", to: file)
        XCTAssertEqual(try Data(contentsOf: file), body)
    }

    func testServerErrorIsRetriedWithBackoffThenSucceeds() throws {
        let (data, response) = try client().get("\(server.baseURL)/flaky/a.bin")
        XCTAssertEqual(data, body)
        XCTAssertEqual(response.attempts, 2)
    }

    func testCutBodyResumesWithARangeRequest() throws {
        let file = URL(fileURLWithPath: dir.path("out.bin"))
        let response = try client().get("\(server.baseURL)/cut/a.bin", to: file)
        XCTAssertEqual(try Data(contentsOf: file), body)
        XCTAssertEqual(response.attempts, 2)
        let ranges = server.requests.filter { $0.contains("/cut/") }.map { $0.split(separator: " ").last.map(String.init) }
        XCTAssertEqual(ranges, ["-", "bytes=\(body.count / 2)-"])
    }

    func testExistingPartialFileIsCompletedNotRefetched() throws {
        let file = URL(fileURLWithPath: dir.path("out.bin"))
        try body.prefix(1000).write(to: file)
        try client().get("\(server.baseURL)/files/a.bin", to: file)
        XCTAssertEqual(try Data(contentsOf: file), body)
        XCTAssertEqual(server.requests.last, "GET /files/a.bin bytes=1000-")
    }

    func testServerIgnoringRangeGetsTheFileRewrittenFromTheStart() throws {
        let file = URL(fileURLWithPath: dir.path("out.bin"))
        try Data(repeating: 0xAA, count: 5000).write(to: file)
        try client().get("\(server.baseURL)/norange/a.bin", to: file)
        XCTAssertEqual(try Data(contentsOf: file), body)
    }

    func testStalePartialLongerThanTheFileIsRefetched() throws {
        let file = URL(fileURLWithPath: dir.path("out.bin"))
        try Data(repeating: 0xAA, count: body.count + 10).write(to: file)
        try client().get("\(server.baseURL)/files/a.bin", to: file)
        XCTAssertEqual(try Data(contentsOf: file), body)
    }

    func testNotFoundIsAClearErrorWithoutRetries() throws {
        XCTAssertThrowsError(try client().get("\(server.baseURL)/files/missing.bin")) { error in
            XCTAssertEqual(error as? HTTPError, .status(method: "GET", url: "\(self.server.baseURL)/files/missing.bin", code: 404))
            XCTAssertTrue("\(error)".contains("404"))
        }
        XCTAssertEqual(server.requests.filter { $0.contains("missing.bin") }.count, 1)
    }

    func testSizeLimitStopsTheTransfer() throws {
        var c = client()
        c.options.maxBytes = 1000
        XCTAssertThrowsError(try c.get("\(server.baseURL)/files/a.bin")) { error in
            guard case HTTPError.tooLarge = error else { return XCTFail("\(error)") }
        }
    }

    func testHeadReportsLengthWithoutBody() throws {
        let response = try client().head("\(server.baseURL)/files/a.bin")
        XCTAssertEqual(response.headers["content-length"], "\(body.count)")
        XCTAssertEqual(response.bytesReceived, 0)
    }

    func testPutFromMemoryAndFileStoresTheBytes() throws {
        try client().put("\(server.baseURL)/files/up1.bin", data: Data("hello".utf8))
        XCTAssertEqual(try Data(contentsOf: server.root.appendingPathComponent("files/up1.bin")), Data("hello".utf8))
        let file = URL(fileURLWithPath: dir.path("src.bin"))
        try body.write(to: file)
        try client().put("\(server.baseURL)/files/up2.bin", contentsOf: file)
        XCTAssertEqual(try Data(contentsOf: server.root.appendingPathComponent("files/up2.bin")), body)
    }

    func testBearerTokenFromEnvironmentIsSentAndNeverShownInErrors() throws {
        var c = client()
        XCTAssertThrowsError(try c.get("\(server.baseURL)/auth/a.bin"))
        c.options.credentials = HTTPCredentials.fromEnvironment(["BTXPIPE_HTTP_TOKEN": "secret-token"])
        XCTAssertEqual(try c.get("\(server.baseURL)/auth/a.bin").0, body)
        c.options.credentials = .basic(user: "u", password: "hunter2")
        XCTAssertThrowsError(try c.get("http://u:hunter2@127.0.0.1:\(server.port)/auth/a.bin")) { error in
            XCTAssertFalse("\(error)".contains("hunter2"), "\(error)")
        }
    }

    func testNetrcCredentialsAreUsedForTheirHost() throws {
        let netrc = dir.path("netrc")
        try Data("machine 127.0.0.1 login u password p4ss\n".utf8).write(to: URL(fileURLWithPath: netrc))
        var c = client()
        XCTAssertThrowsError(try c.get("\(server.baseURL)/basic/a.bin"))
        c.options.useNetrc = true
        c.options.netrcFile = netrc
        XCTAssertEqual(try c.get("\(server.baseURL)/basic/a.bin").0, body)
    }

    func testIdleTimeoutIsATransportErrorAfterRetries() throws {
        var c = client(retries: 1)
        c.options.idleTimeout = 1
        XCTAssertThrowsError(try c.get("\(server.baseURL)/slow/x")) { error in
            guard case let HTTPError.transport(_, _, _, _, attempts) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(attempts, 2)
        }
    }

    func testProgressReportsBytesAndCanCancel() throws {
        var c = client()
        var last: HTTPProgress?
        c.options.progress = { last = $0; return true }
        _ = try c.get("\(server.baseURL)/files/a.bin")
        XCTAssertEqual(last?.bytes, Int64(body.count))
        c.options.progress = { _ in false }
        XCTAssertThrowsError(try c.get("\(server.baseURL)/files/a.bin")) { error in
            guard case HTTPError.cancelled = error else { return XCTFail("\(error)") }
        }
    }

    func testFileURLsAreReadThroughTheSameClient() throws {
        let file = URL(fileURLWithPath: dir.path("local.bin"))
        try body.write(to: file)
        XCTAssertEqual(try client().get(file.absoluteString).0, body)
    }
}
