@testable import BTXPipeline
@testable import BTXStages
import BTXData
import BTXStore
import TestSupport
import XCTest

/// The fetch stage's source fingerprint in the stage key (a changed local file reruns fetch and its
/// dependents; an unchanged one is cached without rehashing) and its `url` form with a `sha256` pin.
final class FetchSourceTests: XCTestCase {
    private func spec(corpus: String) -> String {
        """
        name: fetchkey
        stages:
          fetch: {kind: fetch, params: {domain: prose, path: "\(corpus)", include: ["*.txt"], format: paragraphs, max_bytes: 20000}}
          tokenizer: {kind: tokenizer, params: {vocab_size: 300}, inputs: {corpora: [fetch]}}
          tokens: {kind: tokenize, params: {min_validation_tokens: 100}, inputs: {corpus: fetch, tokenizer: tokenizer}}
        """
    }

    private func run(_ text: String, store: Store) throws -> [String: String] {
        try StageFixtures.runOutcomes(text, file: "fetchkey.yaml", store: store)
    }

    private func paragraphs(_ salt: String) -> String {
        (0..<60).map { "Paragraph \($0) \(salt): the quick brown fox \($0 % 7) jumps over the lazy dog \($0 % 5) times." }
            .joined(separator: "\n\n")
    }

    func testChangedLocalFileRerunsFetchAndDependentsUnchangedIsCached() throws {
        let dir = try TemporaryDirectory()
        let corpus = dir.url.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        let file = corpus.appendingPathComponent("a.txt")
        try paragraphs("one").write(to: file, atomically: false, encoding: .utf8)
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let text = spec(corpus: corpus.path)

        XCTAssertEqual(try run(text, store: store), ["fetch": "ran", "tokenizer": "ran", "tokens": "ran"])
        XCTAssertEqual(try run(text, store: store), ["fetch": "cached", "tokenizer": "cached", "tokens": "cached"])

        // Same content rewritten (new mtime/inode): rehashed, same fingerprint, still cached.
        try paragraphs("one").write(to: file, atomically: false, encoding: .utf8)
        XCTAssertEqual(try run(text, store: store), ["fetch": "cached", "tokenizer": "cached", "tokens": "cached"])

        try paragraphs("two").write(to: file, atomically: false, encoding: .utf8)
        XCTAssertEqual(try run(text, store: store), ["fetch": "ran", "tokenizer": "ran", "tokens": "ran"])
        // Nothing touched: cached, and the memo answers without rehashing.
        XCTAssertEqual(try run(text, store: store), ["fetch": "cached", "tokenizer": "cached", "tokens": "cached"])
        let params = StageParams(["domain": "prose", "path": .string(corpus.path), "include": ["*.txt"]])
        let first = try FetchStage.sourceFingerprint(params, store: store)
        let memo = Fetcher(store: store).memo
        XCTAssertEqual(try LocalSource(path: corpus.path, include: ["*.txt"]).fingerprint(memo: memo).hex, first?.stringValue)
        XCTAssertEqual(memo.hashedCount, 0)

        // An added file matching the glob changes the key too.
        try paragraphs("three").write(to: corpus.appendingPathComponent("b.txt"), atomically: false, encoding: .utf8)
        XCTAssertEqual(try run(text, store: store)["fetch"], "ran")
    }

    func testFileURLWithSHA256Pin() throws {
        let dir = try TemporaryDirectory()
        let file = dir.url.appendingPathComponent("doc.txt")
        let content = paragraphs("pinned")
        try content.write(to: file, atomically: false, encoding: .utf8)
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let right = ObjectHash.of(content).hex
        let wrong = String(repeating: "ab", count: 32)
        func params(_ pin: String) -> [String: JSONValue] {
            ["domain": "prose", "url": .string("file://" + file.path), "sha256": .string(pin), "format": "paragraphs"]
        }

        try FetchStage().validate(StageParams(params(right)))
        let manifest = try FetchStage().run(StageFixtures.context(store, params: params(right)))
        XCTAssertEqual(manifest.kind, "corpus")
        // A local file's fingerprint follows its content (not the pin), so an edited file is not a cache hit.
        XCTAssertEqual(try FetchStage.sourceFingerprint(StageParams(params(right)), store: store)?.stringValue,
                       try LocalSource(path: file.path).fingerprint(memo: Fetcher(store: store).memo).hex)

        XCTAssertThrowsError(try FetchStage().run(StageFixtures.context(store, params: params(wrong)))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(right) && text.contains(wrong), text)
        }
        // Neither or both of path/url: a parameter error.
        XCTAssertThrowsError(try FetchStage().validate(StageParams(["domain": "prose"])))
        XCTAssertThrowsError(try FetchStage().validate(StageParams(["domain": "prose", "path": "/x", "url": "file:///x"])))
    }
}
