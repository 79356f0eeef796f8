import Foundation
import TestSupport
import XCTest
@testable import BTXStore

final class StoreMaintenanceTests: XCTestCase {
    func testGarbageCollectionKeepsEverythingReachableAndFreesTheRest() throws {
        let t = try TestStore()
        let s = t.store
        // Reachable through an action entry: output manifest, its tensor, record, log.
        let tensor = try s.putTensor([1, 2, 3], shape: [3])
        let output = try s.putManifest(Manifest(kind: "model", tensors: ["w": tensor]))
        let log = try s.putObject(Data("log".utf8))
        let key = ObjectHash.of("key")
        let record = try s.putRecord(RunRecord(stage: "s", kind: "k", kindVersion: 1, key: key, start: 0, end: 1, host: "h",
                                               btxpipeVersion: "0", metrics: [:], log: log))
        try s.recordAction(key, ActionEntry(output: output, record: record))
        // Reachable through a ref: a checkpoint manifest whose named object is another manifest.
        let inner = try s.putTensor([4, 5], shape: [2])
        let model = try s.putManifest(Manifest(kind: "model", tensors: ["v": inner]))
        let checkpoint = try s.putManifest(Manifest(kind: "checkpoint", objects: ["model": model]))
        try s.setRef("checkpoint/\(key.hex)", to: checkpoint)
        // Unreachable.
        let garbage = try s.putTensor([9, 9, 9, 9], shape: [4])
        let stale = s.tempDirectory + "/.tmp-stale"
        try Data("partial".utf8).write(to: URL(fileURLWithPath: stale))

        let dry = try s.collectGarbage(delete: false, grace: 0)
        XCTAssertEqual(dry.unreachable, [garbage.object])
        XCTAssertEqual(dry.strayFiles, [stale])
        XCTAssert(s.hasObject(garbage.object), "a dry run deletes nothing")
        let young = try s.collectGarbage(delete: true, grace: 3600)
        XCTAssertEqual(young.unreachable, [], "objects younger than the grace period are kept")

        let done = try s.collectGarbage(delete: true, grace: 0)
        XCTAssertEqual(done.unreachable, [garbage.object])
        XCTAssertGreaterThan(done.bytes, 0)
        XCTAssertFalse(s.hasObject(garbage.object))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        for hash in [tensor.object, output, log, record, inner.object, model, checkpoint] { XCTAssert(s.hasObject(hash)) }
        XCTAssertEqual(s.verify().problems.count, 0)
        XCTAssertEqual(try s.collectGarbage(delete: true, grace: 0).unreachable, [])
    }

    func testVerifyListsEveryDamagedFileAndNothingElse() throws {
        let t = try TestStore()
        let good = try t.store.putObject(Data("good".utf8))
        let bad = try t.store.putObject(Data(weightLikeBytes(count: 10_000, seed: 1)))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: t.store.objectPath(bad)))
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: URL(fileURLWithPath: t.store.objectPath(bad)))
        try t.store.setRef("pin/x", to: good)
        try Data("nonsense".utf8).write(to: URL(fileURLWithPath: try t.store.refPath("pin/y")))
        let report = t.store.verify()
        XCTAssertEqual(report.checked, 4)
        XCTAssertEqual(report.problems.map(\.path).sorted(), [t.store.objectPath(bad), try t.store.refPath("pin/y")].sorted())
        XCTAssert(t.store.hasObject(bad), "verify changes nothing")
    }

    func testResolveAcceptsHashPrefixAndRef() throws {
        let t = try TestStore()
        let hash = try t.store.putObject(Data("x".utf8))
        try t.store.setRef("pin/x", to: hash)
        XCTAssertEqual(try t.store.resolve(hash.hex), hash)
        XCTAssertEqual(try t.store.resolve(String(hash.hex.prefix(8))), hash)
        XCTAssertEqual(try t.store.resolve("pin/x"), hash)
        XCTAssertThrowsError(try t.store.resolve("pin/none"))
        XCTAssertThrowsError(try t.store.resolve("abc"))
    }

    func testDiskUsageCountsObjectsAndContent() throws {
        let t = try TestStore()
        _ = try t.store.putObject(Data(count: 5000))
        _ = try t.store.putObject(Data("abc".utf8))
        let usage = try t.store.diskUsage()
        XCTAssertEqual(usage.objects, 2)
        XCTAssertEqual(usage.contentBytes, 5003)
        XCTAssertLessThan(usage.objectBytes, 5003)
    }
}
