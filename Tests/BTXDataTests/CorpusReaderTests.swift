@testable import BTXData
import BTXStore
import Foundation
import TestSupport
import XCTest

final class CorpusReaderTests: XCTestCase {
    private func write(_ text: String, _ name: String, in dir: TemporaryDirectory) throws {
        let url = dir.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    private func texts(_ docs: DocumentCollection) -> [String] {
        (0..<docs.count).map { String(decoding: docs[$0], as: UTF8.self) }
    }

    func testDirectoryTreeHonoursIncludeAndExcludeGlobsInSortedOrder() throws {
        let dir = try TemporaryDirectory()
        try write("b = 1\n", "pkg/b.py", in: dir)
        try write("a = 1\n", "a.py", in: dir)
        try write("skip\n", "test/t.py", in: dir)
        try write("skip\n", "pkg/tests/t.py", in: dir)
        try write("notes\n", "pkg/readme.txt", in: dir)
        let source = LocalSource(path: "file://" + dir.url.path, include: ["**/*.py"], exclude: ["**/test/**", "**/tests/"])
        XCTAssertEqual(try source.files().map(\.relative), ["a.py", "pkg/b.py"])
        XCTAssertEqual(texts(try source.documents(format: .text)), ["a = 1\n", "b = 1\n"])
        XCTAssertEqual(try LocalSource(path: dir.url.path + "/pkg/*.txt").files().map(\.relative), ["readme.txt"])
        XCTAssertThrowsError(try LocalSource(path: dir.url.path, include: ["*.nothing"]).files())
    }

    func testGlobSemantics() {
        XCTAssertTrue(Glob("**/*.py").matches("a.py"))
        XCTAssertTrue(Glob("**/*.py").matches("x/y/a.py"))
        XCTAssertFalse(Glob("*.py").matches("x/a.py"))
        XCTAssertTrue(Glob("idlelib/idle_test/**").matches("idlelib/idle_test/x/y.py"))
        XCTAssertTrue(Glob("[a-c]?.txt").matches("b1.txt"))
        XCTAssertFalse(Glob("[!a-c]?.txt").matches("b1.txt"))
    }

    func testLinesParagraphsAndJSONLinesSplitIntoDocuments() throws {
        var docs = DocumentCollection()
        try DocumentFormat.lines.split(Data("one\n\n two\nthree".utf8), path: "x", into: &docs)
        XCTAssertEqual(texts(docs), ["one", " two", "three"])
        docs = DocumentCollection()
        try DocumentFormat.paragraphs.split(Data("a\nb\n\n\nc\n  \nd".utf8), path: "x", into: &docs)
        XCTAssertEqual(texts(docs), ["a\nb\n", "c\n", "d\n"])
        docs = DocumentCollection()
        let jsonl = "{\"text\":\"hi \\u00e9\",\"id\":1}\n\n{\"id\":2,\"text\":\"there\"}\n"
        try DocumentFormat(name: "jsonl").split(Data(jsonl.utf8), path: "x", into: &docs)
        XCTAssertEqual(texts(docs), ["hi é", "there"])
    }

    func testBadJSONLineNamesFileAndLine() {
        var docs = DocumentCollection()
        XCTAssertThrowsError(try DocumentFormat.jsonl(field: "body").split(Data("{\"body\":\"ok\"}\n{\"text\":1}\n".utf8), path: "d.jsonl", into: &docs)) {
            XCTAssertTrue("\($0)".contains("d.jsonl:2"), "\($0)")
        }
        XCTAssertThrowsError(try DocumentFormat.jsonl(field: "body").split(Data("{oops\n".utf8), path: "d.jsonl", into: &docs))
        XCTAssertThrowsError(try DocumentFormat(name: "csv"))
    }

    func testDictdEntriesAreSplitByTheIndexAndCleaned() throws {
        let dir = try TemporaryDirectory()
        let meta = "00-database-info\n   about\n", alphaText = "alpha\n\n   The {first} letter.\n\n\n   Second line.\n"
        let betaText = "beta\n   The second.\n", text = meta + alphaText + betaText
        func b64(_ v: Int) -> String {  // dictd's base64 digits, most significant first
            let digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
            var s = "", x = v
            repeat { s = String(digits[x % 64]) + s; x /= 64 } while x > 0
            return s
        }
        let m = meta.utf8.count, a = alphaText.utf8.count, b = betaText.utf8.count
        let index = "00-database-info\tA\t\(b64(m))\nalpha\t\(b64(m))\t\(b64(a))\nbeta\t\(b64(m + a))\t\(b64(b))\nb\t\(b64(m + a))\t\(b64(b))\n"
        try write(text, "d.dict", in: dir)
        try write(index, "d.index", in: dir)
        let r = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["gzip", "-k", dir.path("d.dict")])
        XCTAssertEqual(r.status, 0)
        try FileManager.default.moveItem(atPath: dir.path("d.dict.gz"), toPath: dir.path("d.dict.dz"))
        let docs = try LocalSource(path: dir.path("d.dict.dz")).documents(format: .dictd)
        XCTAssertEqual(texts(docs), ["alpha\n\nThe first letter.\n\nSecond line.\n", "beta\nThe second.\n"])
        try write("alpha\tX!\tA\n", "e.index", in: dir)
        try write(text, "e.dict", in: dir)
        XCTAssertThrowsError(try LocalSource(path: dir.path("e.dict")).documents(format: .dictd)) {
            XCTAssertTrue("\($0)".contains("e.index:1"), "\($0)")
        }
    }

    func testDocumentPackRoundTripsAndRejectsCorruption() throws {
        var docs = DocumentCollection()
        for t in ["a", "", "ccc", "\u{0}\u{FF}"] { docs.append(Data(t.utf8)) }
        let packed = docs.serialized()
        XCTAssertEqual(try DocumentCollection(serialized: packed), docs)
        XCTAssertThrowsError(try DocumentCollection(serialized: packed.dropLast()))
        XCTAssertThrowsError(try DocumentCollection(serialized: Data("BTXDOCS".utf8)))
        var bad = packed
        bad[16] = 0xFF  // first end offset past the data
        XCTAssertThrowsError(try DocumentCollection(serialized: bad))
    }

    func testFileHashMemoSkipsUnchangedFilesAndNoticesChanges() throws {
        let dir = try TemporaryDirectory()
        try write("one\n", "src/a.txt", in: dir)
        try write("two\n", "src/b.txt", in: dir)
        let memoFile = dir.url.appendingPathComponent("memo/file-hashes.tsv")
        let source = LocalSource(path: dir.path("src"))
        let first = FileHashMemo(file: memoFile)
        let h1 = try source.fingerprint(memo: first)
        XCTAssertEqual(first.hashedCount, 2)
        let second = FileHashMemo(file: memoFile)
        XCTAssertEqual(try source.fingerprint(memo: second), h1)
        XCTAssertEqual(second.hashedCount, 0)
        try write("two, changed\n", "src/b.txt", in: dir)
        let third = FileHashMemo(file: memoFile)
        XCTAssertNotEqual(try source.fingerprint(memo: third), h1)
        XCTAssertEqual(third.hashedCount, 1)
    }

    /// The memo reads back paths with tabs and non-ASCII bytes, and skips damaged lines.
    func testFileHashMemoReadsOddPathsAndSkipsDamagedLines() throws {
        let dir = try TemporaryDirectory()
        try write("one\n", "src/tab\tand é.txt", in: dir)
        let path = dir.path("src/tab\tand é.txt")
        let memoFile = dir.url.appendingPathComponent("memo.tsv")
        let first = FileHashMemo(file: memoFile)
        let hash = try first.hash(of: path)
        try first.save()
        let handle = try FileHandle(forWritingTo: memoFile)
        handle.seekToEndOfFile()
        // "/" sorts before every absolute path, so the memo is out of order and must be sorted on load;
        // with empty lines, a line whose fourth tab is its last byte, and a last line without newline.
        handle.write(Data("not a memo line\n\n\t\t\t\n\t\t\t\t\n\(String(repeating: "a", count: 64))\tx\t1\t2\t/\nno newline at the end".utf8))
        try handle.close()
        let second = FileHashMemo(file: memoFile)
        XCTAssertEqual(try second.hash(of: path), hash)
        XCTAssertEqual(second.hashedCount, 0, "the entry was read back from the memo")
    }

    /// A memo file of only a newline, or empty, loads as empty.
    func testFileHashMemoOfOnlyANewlineIsEmpty() throws {
        let dir = try TemporaryDirectory()
        try write("one\n", "src/a.txt", in: dir)
        for content in ["\n", "", "\n\n"] {
            let memoFile = dir.url.appendingPathComponent("memo.tsv")
            try content.write(to: memoFile, atomically: true, encoding: .utf8)
            let memo = FileHashMemo(file: memoFile)
            _ = try memo.hash(of: dir.path("src/a.txt"))
            XCTAssertEqual(memo.hashedCount, 1, "\(content.debugDescription): nothing to find")
        }
    }

    /// Lines are found by binary search over their paths' bytes, in the order `save` writes them; a
    /// memo in another order (edited by hand) is sorted on load, so every line is still found.
    func testFileHashMemoFindsEveryLineWhateverTheirOrder() throws {
        let dir = try TemporaryDirectory()
        // "e\u{301}" and "\u{e9}" are canonically equivalent Strings but different file names.
        let names = ["b.txt", "a.txt", "\u{e9}.txt", "Z.txt", "a b.txt", "a\tb.txt", "e\u{301}.txt", "c.txt"]
        for name in names { try write("\(name)\n", "src/\(name)", in: dir) }
        let memoFile = dir.url.appendingPathComponent("memo.tsv")
        let first = FileHashMemo(file: memoFile)
        let hashes = try names.map { try first.hash(of: dir.path("src/\($0)")) }
        try first.save()
        let paths = { () throws -> [[UInt8]] in
            try String(contentsOf: memoFile, encoding: .utf8).split(separator: "\n")
                .map { Array($0.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)[4].utf8) }
        }
        XCTAssertEqual(try paths(), try paths().sorted { $0.lexicographicallyPrecedes($1) }, "saved in byte order of the paths")
        XCTAssertEqual(try paths().count, names.count)
        let second = FileHashMemo(file: memoFile)
        XCTAssertEqual(try names.map { try second.hash(of: dir.path("src/\($0)")) }, hashes)
        XCTAssertEqual(second.hashedCount, 0, "every entry found by binary search")
        try write("changed\n", "src/c.txt", in: dir)
        XCTAssertNotEqual(try second.hash(of: dir.path("src/c.txt")), hashes[7])
        try second.save()
        let third = FileHashMemo(file: memoFile)
        _ = try names.map { try third.hash(of: dir.path("src/\($0)")) }
        XCTAssertEqual(third.hashedCount, 0, "the changed file's new entry replaced its old line")
        XCTAssertEqual(try paths().count, names.count)
        let lines = try String(contentsOf: memoFile, encoding: .utf8).split(separator: "\n")
        try (lines.reversed().joined(separator: "\n") + "\n").write(to: memoFile, atomically: true, encoding: .utf8)
        let reversed = FileHashMemo(file: memoFile)
        XCTAssertEqual(try names.map { try reversed.hash(of: dir.path("src/\($0)")) }.dropLast(), hashes.dropLast())
        XCTAssertEqual(reversed.hashedCount, 0, "a memo in reverse order is sorted on load")
    }

    func testSamplingByMaxBytesIsDeterministicAndKeepsCorpusOrder() {
        var docs = DocumentCollection()
        for i in 0..<100 { docs.append(Data("document number \(i)\n".utf8)) }
        let a = docs.sample(maxBytes: 500), b = docs.sample(maxBytes: 500)
        XCTAssertEqual(a, b)
        XCTAssertLessThanOrEqual(a.byteCount, 500)
        XCTAssertGreaterThan(a.byteCount, 400)
        let numbers = texts(a).map { Int($0.split(separator: " ")[2].dropLast())! }
        XCTAssertEqual(numbers, numbers.sorted())
        XCTAssertEqual(docs.sample(maxBytes: 1 << 30), docs)
    }
}
