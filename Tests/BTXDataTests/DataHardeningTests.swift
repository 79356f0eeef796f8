@testable import BTXData
import BTXStore
import Foundation
import TestSupport
import XCTest

/// Issue 15's data-side defects, one test each: symlinked inputs fingerprinted by their targets,
/// reversed glob ranges, hostile BPE merges, the memo's temp file.
final class DataHardeningTests: XCTestCase {
    func testSymlinkedFilesAreListedAndFingerprintedByWhatTheyPointAt() throws {
        let dir = try TemporaryDirectory()
        let blobs = dir.url.appendingPathComponent("blobs"), snapshot = dir.url.appendingPathComponent("snapshot")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try Data("weights v1".utf8).write(to: blobs.appendingPathComponent("1"))
        try Data("weights v2".utf8).write(to: blobs.appendingPathComponent("2"))
        try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent("model.safetensors").path,
                                                   withDestinationPath: "../blobs/1")
        let source = LocalSource(path: snapshot.path, include: ["*.safetensors"])
        let memo = FileHashMemo(file: dir.url.appendingPathComponent("memo.tsv"))
        XCTAssertEqual(try source.files().map(\.relative), ["model.safetensors"])
        let before = try source.fingerprint(memo: memo)
        unlink(snapshot.appendingPathComponent("model.safetensors").path)
        try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent("model.safetensors").path,
                                                   withDestinationPath: "../blobs/2")
        XCTAssertNotEqual(try source.fingerprint(memo: memo), before, "a relinked file must change the fingerprint")
    }

    func testAReversedGlobRangeMatchesNothingInsteadOfCrashing() {
        XCTAssertFalse(Glob("[z-a].txt").matches("m.txt"))
        XCTAssertTrue(Glob("[a-z].txt").matches("m.txt"))
    }

    func testMergesThatDoubleAPieceAreRefusedWithOneLine() {
        // Each merge joins the previous piece with itself: 2^k bytes after k merges.
        var merges = [BPETokenizer.Merge(97, 97)]
        for r in 1..<40 { merges.append(BPETokenizer.Merge(UInt32(255 + r), UInt32(255 + r))) }
        XCTAssertThrowsError(try BPETokenizer(merges: merges)) { error in
            XCTAssert("\(error)".contains("limits are"), "\(error)")
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }

    func testAFailedMemoSaveLeavesNoTempFile() throws {
        let dir = try TemporaryDirectory()
        let target = dir.url.appendingPathComponent("memo.tsv")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)   // rename onto it fails
        let file = dir.url.appendingPathComponent("a.txt")
        try Data("a".utf8).write(to: file)
        let memo = FileHashMemo(file: target)
        _ = try memo.hash(of: file.path)
        XCTAssertThrowsError(try memo.save())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted(), ["a.txt", "memo.tsv"])
    }

    func testAPinnedFetchFoundInTheStoreRefreshesTheObjectsTimeWithoutNetwork() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url, report: { _ in })
        let hash = try store.putObject(Data("corpus".utf8))
        let path = dir.url.path + "/objects/v1/\(hash.hex.prefix(2))/\(hash.hex)"
        var old = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &old, 0), 0)
        var source = FetchSource(url: "http://127.0.0.1:9/corpus.txt")   // nothing listens: no network allowed
        source.sha256 = hash.hex
        XCTAssertEqual(try Fetcher(store: store).download(source), hash)
        let mtime = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as! Date
        XCTAssertGreaterThan(mtime.timeIntervalSinceNow, -60, "a dedup hit must refresh the object's time for gc's grace")
    }
}
