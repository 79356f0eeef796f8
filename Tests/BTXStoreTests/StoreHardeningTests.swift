import Foundation
import TestSupport
import XCTest
@testable import BTXStore

/// Issue 15's store defects, one test each: self-healing cache entries, a gc that cannot race or
/// guess, refs only to complete closures, and sizes from files never trusted.
final class StoreHardeningTests: XCTestCase {
    /// A complete action entry: a model manifest (one tensor, one named object), record and log.
    private func completeAction(_ store: Store) throws -> (key: ObjectHash, entry: ActionEntry, tensor: TensorEntry) {
        let tensor = try store.putTensor(weightLikeBytes(count: 40_000, seed: 3).map { Float($0) }, shape: [200, 200])
        let vocab = try store.putObject(Data("vocab".utf8))
        let output = try store.putManifest(Manifest(kind: "model", tensors: ["w": tensor], objects: ["vocab": vocab]))
        let key = ObjectHash.of("stage key")
        let log = try store.putObject(Data("log text".utf8))
        let record = try store.putRecord(RunRecord(stage: "s", kind: "k", kindVersion: 1, key: key, start: 1, end: 2,
                                                   host: "h", btxpipeVersion: "0", metrics: [:], log: log))
        let entry = ActionEntry(output: output, record: record)
        try store.recordAction(key, entry)
        return (key, entry, tensor)
    }

    private func flipByte(_ path: String, at offset: (Int) -> Int) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[offset(bytes.count)] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    // MARK: 1. dangling cache entries heal

    func testAnEntryWhoseTensorWasQuarantinedIsNoLongerAHit() throws {
        let t = try TestStore()
        let (key, _, tensor) = try completeAction(t.store)
        XCTAssertNotNil(try t.store.action(key))
        try flipByte(t.store.objectPath(tensor.object)) { $0 / 2 }
        XCTAssertThrowsError(try t.store.object(tensor.object), "the consumer meets the damage and quarantines it")
        XCTAssertNil(try t.store.action(key), "an entry whose closure is incomplete is not a hit")
        XCTAssert(t.reports.contains { $0.contains("ignoring action entry") && $0.contains("output object") }, "\(t.reports)")
    }

    func testVerifyFindsDanglingEntriesAndRepairRemovesThemAndQuarantinesDamage() throws {
        let t = try TestStore()
        let (key, _, tensor) = try completeAction(t.store)
        try flipByte(t.store.objectPath(tensor.object)) { $0 - 3 }
        let found = t.store.verify()
        XCTAssertEqual(Set(found.problems.map(\.path)), [t.store.objectPath(tensor.object)])
        let repaired = t.store.verify(repair: true)
        XCTAssertFalse(repaired.problems.isEmpty)
        XCTAssertFalse(t.store.hasObject(tensor.object), "repair quarantines the damaged object")
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.store.actionPath(key)), "and removes the entry it breaks")
        XCTAssertEqual(t.store.verify().problems.count, 0, "after repair the store verifies clean")
    }

    func testInvalidatingAnEntryMakesItAMiss() throws {
        let t = try TestStore()
        let (key, _, _) = try completeAction(t.store)
        try t.store.invalidateAction(key, reason: "test")
        XCTAssertNil(try t.store.action(key))
        try t.store.invalidateAction(key, reason: "again: no error")
    }

    // MARK: 2. gc cannot race or guess

    func testGcRefusesWhileARunHoldsTheStoreLock() throws {
        let t = try TestStore()
        let other = try Store(root: t.store.root)   // another process's view: its own lock descriptor
        let run = try other.lockShared()
        XCTAssertThrowsError(try t.store.collectGarbage(delete: true, grace: 0)) { error in
            guard case .busy? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertFalse("\(error)".contains("\n"))
        }
        run.release()
        XCTAssertNoThrow(try t.store.collectGarbage(delete: true, grace: 0))
    }

    func testGcAbortsWhenAReachableManifestCannotBeRead() throws {
        let t = try TestStore()
        let tensor = try t.store.putTensor([1, 2, 3], shape: [3])
        let model = try t.store.putManifest(Manifest(kind: "model", tensors: ["w": tensor]))
        let checkpoint = try t.store.putManifest(Manifest(kind: "checkpoint", objects: ["model": model]))
        try t.store.setRef("checkpoint/x", to: checkpoint)
        try flipByte(t.store.objectPath(model)) { $0 - 2 }
        XCTAssertThrowsError(try t.store.collectGarbage(delete: true, grace: 0))
        XCTAssert(t.store.hasObject(tensor.object), "a child of an unreadable manifest must not be deleted")
    }

    func testRecordsOfFailedRunsSurviveGcWhileTheirLastRunRefPointsAtThem() throws {
        let t = try TestStore()
        let log = try t.store.putObject(Data("error: boom".utf8))
        let record = try t.store.putRecord(RunRecord(stage: "s", kind: "k", kindVersion: 1, key: ObjectHash.of("k"), start: 1,
                                                     end: 2, host: "h", btxpipeVersion: "0", metrics: [:], log: log))
        let lastRun = try t.store.putObject(JSONValue.object(["outcome": "failed", "record": .string(record.hex)]).canonicalData)
        try t.store.setRef("last/p/s", to: lastRun)
        _ = try t.store.collectGarbage(delete: true, grace: 0)
        for hash in [lastRun, record, log] { XCTAssert(t.store.hasObject(hash), "gc deleted \(hash.short)") }
        XCTAssertNotNil(try t.store.record(record).log)
    }

    func testDedupHitsRefreshTheObjectsTime() throws {
        let t = try TestStore()
        let hash = try t.store.putObject(Data("shared".utf8))
        var old = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, t.store.objectPath(hash), &old, 0), 0)
        XCTAssert(t.store.refreshObject(hash))
        XCTAssertGreaterThan(Store.sizeAndTime(t.store.objectPath(hash))!.mtime, Date().timeIntervalSince1970 - 60)
        XCTAssertFalse(t.store.refreshObject(ObjectHash.of("absent")))
    }

    func testPinsAndImportsOnlyPointAtCompleteClosures() throws {
        let t = try TestStore()
        let tensor = try t.store.putTensor([1, 2], shape: [2])
        let manifest = try t.store.putManifest(Manifest(kind: "model", tensors: ["w": tensor]))
        unlink(t.store.objectPath(tensor.object))
        XCTAssertThrowsError(try t.store.setCompleteRef("pin/m", to: manifest)) { error in
            XCTAssertEqual(error as? StoreError, .incompleteRef(name: "pin/m", missing: tensor.object))
        }
        XCTAssertNil(try t.store.ref("pin/m"))
        _ = try t.store.putTensor([1, 2], shape: [2])
        try t.store.setCompleteRef("pin/m", to: manifest)
        XCTAssertEqual(try t.store.ref("pin/m"), manifest)
    }

    // MARK: 5. untrusted sizes

    func testAHeaderClaimingMoreThanItsFileCanHoldIsCorruptNotAnAllocation() throws {
        let t = try TestStore()
        let hash = try t.store.putObject(Data(weightLikeBytes(count: 10_000, seed: 9)), elementSize: 4)
        let path = t.store.objectPath(hash)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes.replaceSubrange(8..<16, with: withUnsafeBytes(of: UInt64(1 << 45).littleEndian) { Data($0) })
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try t.store.object(hash)) { error in
            XCTAssert("\(error)".contains("more than its"), "\(error)")
        }
    }

    func testDamageToReservedHeaderBytesIsDetectedToo() throws {
        let t = try TestStore()
        for offset in [7, 21] {
            let hash = try t.store.putObject(Data("reserved \(offset)".utf8))
            try flipByte(t.store.objectPath(hash)) { _ in offset }
            XCTAssertNotNil(t.store.verifyObject(hash), "a flip at byte \(offset) must be found")
        }
    }

    func testManifestsWithNegativeOrOverflowingShapesAreRejectedWhenDecoded() throws {
        let t = try TestStore()
        let object = ObjectHash.of("x").hex
        for shape in ["[-1]", "[4611686018427387904,4]", "[1099511627776,1099511627776]"] {
            let json = #"{"kind":"model","metadata":{},"objects":{},"tensors":{"w":{"dtype":"f32","object":"\#(object)","shape":\#(shape)}}}"#
            let hash = try t.store.putObject(Data(json.utf8))
            XCTAssertThrowsError(try t.store.manifest(hash), shape) { error in
                guard case .invalidDocument? = error as? StoreError else { return XCTFail("\(error)") }
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }

    // MARK: 7. smaller ones

    func testMkdirFailuresNameTheRealCause() throws {
        let t = try TestStore()
        let file = t.directory.path("plain-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try FileSystem.makeDirectory(file + "/sub")) { error in
            XCTAssertEqual(error as? StoreError, .io(path: file + "/sub", operation: "mkdir", errno: ENOTDIR))
        }
    }

    func testPlacingAnExistingObjectIsSuccessAndLeavesNoTempFile() throws {
        let t = try TestStore()
        let first = try t.store.putObject(Data("same".utf8))
        let second = try t.store.putObject(Data("same".utf8))
        XCTAssertEqual(first, second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.store.tempDirectory), [])
        XCTAssertEqual(try t.store.object(first), Data("same".utf8))
    }
}
