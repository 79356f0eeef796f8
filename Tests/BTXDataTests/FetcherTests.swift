import BTXData
import BTXStore
import Foundation
import TestSupport
import XCTest

final class FetcherTests: LocalHTTPServerTestCase {
    private var dir: TemporaryDirectory!
    private var store: Store!
    private let text = Data((0..<2000).map { "line \($0) of the remote corpus\n" }.joined().utf8)

    override func setUpWithError() throws {
        try super.setUpWithError()
        dir = try TemporaryDirectory()
        try server.serve("corpus.txt", text)
        store = try Store(root: dir.url.appendingPathComponent("store"), report: { _ in })
    }

    override func tearDown() {
        store = nil
        dir = nil
    }

    private func fetcher() -> Fetcher {
        var options = HTTPOptions()
        options.backoff = 0.01
        options.useNetrc = false
        return Fetcher(store: store, client: HTTPClient(options: options))
    }

    private func source(_ path: String, pin: ObjectHash? = nil) -> FetchSource {
        var s = FetchSource(url: "\(server.baseURL)/\(path)")
        s.format = .lines
        s.sha256 = pin?.hex
        return s
    }

    func testPinnedRemoteFileIsStoredAndSplit() throws {
        let docs = try fetcher().documents(source("files/corpus.txt", pin: .of(text)))
        XCTAssertEqual(docs.count, 2000)
        XCTAssertTrue(store.hasObject(.of(text)))
        // Cached: a second fetch does not touch the server.
        let before = server.requests.count
        _ = try fetcher().documents(source("files/corpus.txt", pin: .of(text)))
        XCTAssertEqual(server.requests.count, before)
    }

    func testServerErrorThenSuccessIsRetried() throws {
        XCTAssertEqual(try fetcher().download(source("flaky/corpus.txt", pin: .of(text))), .of(text))
        XCTAssertEqual(server.requests.filter { $0.contains("/flaky/") }.count, 2)
    }

    func testCutConnectionResumesWithRange() throws {
        XCTAssertEqual(try fetcher().download(source("cut/corpus.txt", pin: .of(text))), .of(text))
        XCTAssertTrue(server.requests.last?.hasSuffix("bytes=\(text.count / 2)-") ?? false, "\(server.requests)")
    }

    func testConcurrentFetchesOfOneURLTakeTurnsAndTheSecondNeedsNoNetwork() throws {
        let results = NSLock()
        var hashes: [ObjectHash] = [], errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let hash = try fetcher().download(source("slowish/corpus.txt", pin: .of(text)))
                results.lock(); hashes.append(hash); results.unlock()
            } catch {
                results.lock(); errors.append("\(error)"); results.unlock()
            }
        }
        XCTAssertEqual(errors, [], "fetches of one URL must not interleave their partial files")
        XCTAssertEqual(hashes, Array(repeating: .of(text), count: 4))
        XCTAssertEqual(server.requests.filter { $0.contains("/slowish/") }.count, 1, "the others find the object stored")
    }

    func testWrongPinIsAnErrorAndNothingIsStored() throws {
        let wrong = ObjectHash.of("something else")
        XCTAssertThrowsError(try fetcher().download(source("files/corpus.txt", pin: wrong))) { error in
            XCTAssertTrue("\(error)".contains(ObjectHash.of(self.text).hex), "\(error)")
        }
        XCTAssertFalse(store.hasObject(.of(text)))
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: store.root.appendingPathComponent("downloads").path)) ?? []
        XCTAssertEqual(leftovers, [])
    }

    func testMissingPinShowsTheHashToPaste() throws {
        XCTAssertThrowsError(try fetcher().documents(source("files/corpus.txt"))) { error in
            XCTAssertTrue("\(error)".contains("sha256: \(ObjectHash.of(self.text).hex)"), "\(error)")
        }
        XCTAssertFalse(store.hasObject(.of(text)))
    }

    func testNotFoundIsAClearError() throws {
        XCTAssertThrowsError(try fetcher().download(source("files/nope.txt", pin: .of(text)))) { error in
            XCTAssertTrue("\(error)".contains("404"), "\(error)")
        }
    }

    func testGzippedRemoteJSONLinesAreDecoded() throws {
        let jsonl = Data("{\"text\":\"alpha\"}\n{\"text\":\"beta\"}\n".utf8)
        let plain = dir.url.appendingPathComponent("d.jsonl")
        try jsonl.write(to: plain)
        XCTAssertEqual(try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["gzip", "-k", plain.path]).status, 0)
        let gz = try Data(contentsOf: URL(fileURLWithPath: plain.path + ".gz"))
        try server.serve("d.jsonl.gz", gz)
        var s = source("files/d.jsonl.gz", pin: .of(gz))
        s.format = .jsonl(field: "text")
        let docs = try fetcher().documents(s)
        XCTAssertEqual((0..<docs.count).map { String(decoding: docs[$0], as: UTF8.self) }, ["alpha", "beta"])
    }

    func testLocalSourceIdentityChangesWithContentOnly() throws {
        let src = dir.url.appendingPathComponent("local")
        try FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
        try Data("one".utf8).write(to: src.appendingPathComponent("a.txt"))
        let local = FetchSource(url: "file://" + src.path)
        let a = try fetcher().identity(of: local), b = try fetcher().identity(of: local)
        XCTAssertEqual(a, b)
        try Data("two".utf8).write(to: src.appendingPathComponent("a.txt"))
        XCTAssertNotEqual(try fetcher().identity(of: local), a)
        XCTAssertTrue(FileManager.default.fileExists(atPath: store.root.appendingPathComponent("memo/file-hashes.tsv").path))
    }
}
