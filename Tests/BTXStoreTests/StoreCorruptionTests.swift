import Foundation
import TestSupport
import XCTest
@testable import BTXStore

/// Each kind of damage to an object file is detected, reported with its path, and the object then
/// counts as missing; it is never returned.
final class StoreCorruptionTests: XCTestCase {
    private func damaged(_ damage: (inout Data) -> Void, size: Int = 3 << 20) throws -> (TestStore, ObjectHash) {
        let t = try TestStore()
        let hash = try t.store.putObject(Data(weightLikeBytes(count: size, seed: 5)), elementSize: 4)
        let path = t.store.objectPath(hash)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        damage(&bytes)
        try bytes.write(to: URL(fileURLWithPath: path))
        return (t, hash)
    }

    private func assertCorruptThenMissing(_ t: TestStore, _ hash: ObjectHash, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotNil(t.store.verifyObject(hash), file: file, line: line)
        XCTAssertThrowsError(try t.store.object(hash), file: file, line: line) { error in
            guard case .corrupt(let path, _)? = error as? StoreError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(path, t.store.objectPath(hash), file: file, line: line)
        }
        XCTAssertFalse(t.store.hasObject(hash), "a corrupt object must count as missing", file: file, line: line)
        XCTAssertEqual(t.reports.count, 1, file: file, line: line)
    }

    func testFlippedByteInAChunkIsDetected() throws {
        let (t, hash) = try damaged { $0[$0.count / 2] ^= 0x01 }
        assertCorruptThenMissing(t, hash)
    }

    func testFlippedByteInARawChunkIsDetected() throws {
        let t = try TestStore()
        var random = SystemRandomNumberGenerator()
        let hash = try t.store.putObject(Data((0..<5000).map { _ in UInt8.random(in: 0...255, using: &random) }))
        let path = t.store.objectPath(hash)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 10] ^= 0x80
        try bytes.write(to: URL(fileURLWithPath: path))
        assertCorruptThenMissing(t, hash)
    }

    func testTruncatedObjectIsDetected() throws {
        let (t, hash) = try damaged { $0.removeLast($0.count / 3) }
        assertCorruptThenMissing(t, hash)
    }

    func testTruncatedHeaderIsDetected() throws {
        let (t, hash) = try damaged { $0 = $0.prefix(10) }
        assertCorruptThenMissing(t, hash)
    }

    func testTrailingGarbageIsDetected() throws {
        let (t, hash) = try damaged { $0.append(0) }
        assertCorruptThenMissing(t, hash)
    }

    func testHeaderLyingAboutLengthIsDetected() throws {
        let (t, hash) = try damaged { $0[8] ^= 0x10 }
        assertCorruptThenMissing(t, hash)
    }

    func testMisnamedObjectIsDetected() throws {
        let t = try TestStore()
        let real = try t.store.putObject(Data("the real content".utf8))
        let claimed = ObjectHash.of("other content")
        try FileSystem.makeDirectory((t.store.objectPath(claimed) as NSString).deletingLastPathComponent)
        try FileManager.default.copyItem(atPath: t.store.objectPath(real), toPath: t.store.objectPath(claimed))
        assertCorruptThenMissing(t, claimed)
    }

    func testRewritingACorruptObjectRepairsIt() throws {
        let (t, hash) = try damaged { $0[100] ^= 0xFF }
        XCTAssertThrowsError(try t.store.object(hash))
        XCTAssertEqual(try t.store.putObject(Data(weightLikeBytes(count: 3 << 20, seed: 5)), elementSize: 4), hash)
        XCTAssertEqual(try t.store.object(hash).count, 3 << 20)
    }

    func testCorruptManifestIsDetected() throws {
        let t = try TestStore()
        let hash = try t.store.putManifest(Manifest(kind: "model", metadata: ["dim": 64]))
        let path = t.store.objectPath(hash)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 3] ^= 0x04
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try t.store.manifest(hash))
        XCTAssertFalse(t.store.hasObject(hash))
    }
}
