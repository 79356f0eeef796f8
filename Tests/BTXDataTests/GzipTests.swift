import BTXData
import Foundation
import TestSupport
import XCTest

final class GzipTests: XCTestCase {
    /// Text with repeats (long matches), plus pseudo-random bytes (stored/literal-heavy blocks).
    private func sample(_ n: Int, seed: UInt64) -> Data {
        var bytes = [UInt8]()
        var i: UInt64 = 0
        let words = ["the ", "quick ", "brown ", "fox ", "jumps\n", "over ", "lazy ", "dogs. "]
        while bytes.count < n {
            let h = CounterHash.hash(seed, i)
            i += 1
            if h % 5 == 0 { bytes += (0..<8).map { UInt8(truncatingIfNeeded: CounterHash.hash(h, UInt64($0))) } }
            else { bytes += Array(words[Int(h % UInt64(words.count))].utf8) }
        }
        return Data(bytes.prefix(n))
    }

    private func gzip(_ data: Data, level: Int, in dir: TemporaryDirectory) throws -> Data {
        let file = URL(fileURLWithPath: dir.path("in-\(level)"))
        try data.write(to: file)
        let r = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["gzip", "-\(level)", "-k", "-f", file.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try Data(contentsOf: URL(fileURLWithPath: file.path + ".gz"))
    }

    func testDecodingFilesMadeByGzipGivesTheOriginalBytesAtEveryLevel() throws {
        let dir = try TemporaryDirectory()
        for (n, level) in [(0, 6), (1, 6), (1000, 1), (300_000, 6), (700_000, 9)] {
            let original = sample(n, seed: UInt64(n))
            let compressed = try gzip(original, level: level, in: dir)
            XCTAssertEqual(try Gzip.decompress(compressed), original, "n=\(n) level=\(level)")
        }
    }

    func testIncompressibleDataRoundTripsThroughStoredBlocks() throws {
        let dir = try TemporaryDirectory()
        let random = Data((0..<200_000).map { UInt8(truncatingIfNeeded: CounterHash.hash(7, UInt64($0))) })
        XCTAssertEqual(try Gzip.decompress(try gzip(random, level: 6, in: dir)), random)
    }

    func testConcatenatedMembersDecodeToTheConcatenation() throws {
        let dir = try TemporaryDirectory()
        let a = sample(5000, seed: 1), b = sample(7000, seed: 2)
        let joined = try gzip(a, level: 6, in: dir) + (try gzip(b, level: 1, in: dir))
        XCTAssertEqual(try Gzip.decompress(joined), a + b)
    }

    func testCorruptedPayloadIsRejectedWithATypedError() throws {
        let dir = try TemporaryDirectory()
        let compressed = try gzip(sample(50_000, seed: 3), level: 6, in: dir)
        var flipped = compressed
        flipped[compressed.count / 2] ^= 0x55
        XCTAssertThrowsError(try Gzip.decompress(flipped)) { XCTAssertTrue($0 is InflateError, "\($0)") }
        var badCRC = compressed
        badCRC[compressed.count - 6] ^= 0x01
        XCTAssertThrowsError(try Gzip.decompress(badCRC)) { error in
            guard case InflateError.checksumMismatch = error else { return XCTFail("\(error)") }
        }
    }

    func testTruncatedStreamIsReportedAsTruncated() throws {
        let dir = try TemporaryDirectory()
        let compressed = try gzip(sample(50_000, seed: 4), level: 6, in: dir)
        for cut in [5, compressed.count / 2, compressed.count - 3] {
            XCTAssertThrowsError(try Gzip.decompress(compressed.prefix(cut))) { error in
                XCTAssertEqual(error as? InflateError, .truncated, "cut at \(cut): \(error)")
            }
        }
    }

    func testOutputPastTheSizeLimitIsRefused() throws {
        let dir = try TemporaryDirectory()
        let zeros = Data(count: 1 << 20)  // compresses ~1000:1: the shape of a decompression bomb
        let compressed = try gzip(zeros, level: 9, in: dir)
        XCTAssertEqual(try Gzip.decompress(compressed, limit: 1 << 20), zeros)
        XCTAssertThrowsError(try Gzip.decompress(compressed, limit: (1 << 20) - 1)) {
            XCTAssertEqual($0 as? InflateError, .tooLarge(limit: (1 << 20) - 1))
        }
    }

    func testBytesAfterTheLastMemberAreRejected() throws {
        let dir = try TemporaryDirectory()
        let compressed = try gzip(sample(3000, seed: 6), level: 6, in: dir)
        XCTAssertThrowsError(try Gzip.decompress(compressed + Data("junk".utf8))) {
            XCTAssertEqual($0 as? InflateError, .trailingGarbage)
        }
    }

    func testNonGzipInputIsRejected() {
        XCTAssertThrowsError(try Gzip.decompress(Data("hello world, not gzip".utf8))) {
            XCTAssertEqual($0 as? InflateError, .notGzip)
        }
        XCTAssertThrowsError(try Gzip.decompress(Data())) { XCTAssertEqual($0 as? InflateError, .truncated) }
    }

    func testDictzipFileDecodesLikeZcat() throws {
        let path = "/usr/share/dictd/foldoc.dict.dz"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("dict-foldoc not installed") }
        var count = 0
        var hasher = CRCLikeSum()
        try Gzip.decompress(from: FileByteSource(path: path)) { count += $0.count; hasher.add($0) }
        let r = try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "zcat \(path) | wc -c"])
        XCTAssertEqual(count, Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertGreaterThan(hasher.sum, 0)
    }

    func testZstdFilesDecodeThroughTheSameInterface() throws {
        let dir = try TemporaryDirectory()
        let original = sample(100_000, seed: 5)
        let file = dir.path("a.txt")
        try original.write(to: URL(fileURLWithPath: file))
        let r = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["zstd", "-q", "-f", file, "-o", file + ".zst"])
        guard r.status == 0 else { throw XCTSkip("zstd command not available") }
        XCTAssertEqual(try Compression.readFile(file + ".zst"), original)
        XCTAssertThrowsError(try Compression.readFile(file + ".zst.cut")) // missing file: typed error
        let cut = try Data(contentsOf: URL(fileURLWithPath: file + ".zst")).dropLast(10)
        try cut.write(to: URL(fileURLWithPath: dir.path("cut.zst")))
        XCTAssertThrowsError(try Compression.readFile(dir.path("cut.zst")))
    }
}

/// A cheap order-sensitive checksum so the large-file test does not keep the text around.
private struct CRCLikeSum {
    var sum: UInt64 = 0
    mutating func add(_ bytes: UnsafeRawBufferPointer) { for b in bytes { sum = sum &* 31 &+ UInt64(b) } }
}
