import Foundation
import TestSupport
import XCTest
@testable import BTXStore

final class StoreDocumentTests: XCTestCase {
    private func completeAction(_ store: Store) throws -> (ObjectHash, ActionEntry) {
        let tensor = try store.putTensor([1, 2], shape: [2])
        let vocab = try store.putObject(Data("vocab".utf8))
        let output = try store.putManifest(Manifest(kind: "model", tensors: ["w": tensor], objects: ["vocab": vocab]))
        let key = ObjectHash.of("stage key")
        let log = try store.putObject(Data("log text".utf8))
        let record = try store.putRecord(RunRecord(stage: "train[code]", kind: "train", kindVersion: 1, key: key, start: 1,
                                                   end: 2.5, host: "h", btxpipeVersion: "0", metrics: ["loss": 1.5], log: log))
        return (key, ActionEntry(output: output, record: record))
    }

    func testManifestRoundTripsAndEqualManifestsShareAHash() throws {
        let t = try TestStore()
        let tensor = try t.store.putTensor([1, 2, 3], shape: [3])
        let manifest = Manifest(kind: "model", tensors: ["a.weight": tensor], metadata: ["config": ["dim": 3, "name": "x"]])
        let hash = try t.store.putManifest(manifest)
        XCTAssertEqual(try t.store.manifest(hash), manifest)
        XCTAssertEqual(try t.store.putManifest(manifest), hash)
        XCTAssertEqual(hash, ObjectHash.of(try manifest.canonicalData()))
    }

    func testAnObjectThatIsNotAManifestIsRejected() throws {
        let t = try TestStore()
        let hash = try t.store.putObject(Data("[1,2]".utf8))
        XCTAssertThrowsError(try t.store.manifest(hash)) {
            guard case .invalidDocument? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
    }

    func testRecordedActionRoundTrips() throws {
        let t = try TestStore()
        let (key, entry) = try completeAction(t.store)
        XCTAssertNil(try t.store.action(key))
        try t.store.recordAction(key, entry)
        XCTAssertEqual(try t.store.action(key), entry)
        XCTAssertEqual(try t.store.record(entry.record).metrics["loss"], 1.5)
        XCTAssertEqual(try t.store.actionKeys(), [key])
    }

    func testRecordActionRefusesAnEntryWhoseObjectsAreMissing() throws {
        let t = try TestStore()
        let (key, entry) = try completeAction(t.store)
        let manifest = try t.store.manifest(entry.output)
        for victim in [manifest.tensors["w"]!.object, manifest.objects["vocab"]!, try t.store.record(entry.record).log!, entry.record] {
            let path = t.store.objectPath(victim)
            let saved = try Data(contentsOf: URL(fileURLWithPath: path))
            try FileManager.default.removeItem(atPath: path)
            XCTAssertThrowsError(try t.store.recordAction(key, entry)) {
                guard case .incompleteAction(_, let missing, _)? = $0 as? StoreError else { return XCTFail("\($0)") }
                XCTAssertEqual(missing, victim)
            }
            XCTAssertNil(try t.store.action(key))
            try saved.write(to: URL(fileURLWithPath: path))
        }
        try t.store.recordAction(key, entry)
    }

    func testCorruptOrDanglingActionEntriesCountAsAbsent() throws {
        let t = try TestStore()
        let (key, entry) = try completeAction(t.store)
        try t.store.recordAction(key, entry)
        try Data("{\"output\":".utf8).write(to: URL(fileURLWithPath: t.store.actionPath(key)))
        XCTAssertNil(try t.store.action(key))
        try t.store.recordAction(key, entry)
        try FileManager.default.removeItem(atPath: t.store.objectPath(entry.output))
        XCTAssertNil(try t.store.action(key))
        XCTAssertEqual(t.reports.count, 2)
    }

    func testRefsAreSetReplacedListedAndRemoved() throws {
        let t = try TestStore()
        let a = ObjectHash.of("a"), b = ObjectHash.of("b")
        try t.store.setRef("checkpoint/\(a.hex)", to: a)
        try t.store.setRef("pin/seed", to: a)
        try t.store.setRef("pin/seed", to: b)
        try t.store.setRef("last/btx/train[code]", to: b)
        XCTAssertEqual(try t.store.ref("pin/seed"), b)
        XCTAssertNil(try t.store.ref("pin/other"))
        XCTAssertEqual(try t.store.refs().map(\.name), ["checkpoint/\(a.hex)", "last/btx/train[code]", "pin/seed"])
        try t.store.removeRef("pin/seed")
        try t.store.removeRef("pin/seed")
        XCTAssertNil(try t.store.ref("pin/seed"))
    }

    func testBadRefNamesAreRejected() throws {
        let t = try TestStore()
        for name in ["", "/abs", "a/../b", "..", "a//b", "a/.hidden", "sp ace", "a/b/", "semi;colon", "ü"] {
            XCTAssertThrowsError(try t.store.setRef(name, to: ObjectHash.of("x")), name) {
                guard case .invalidRefName? = $0 as? StoreError else { return XCTFail("\($0)") }
            }
        }
    }

    func testCorruptRefCountsAsUnset() throws {
        let t = try TestStore()
        try t.store.setRef("pin/x", to: ObjectHash.of("x"))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: try t.store.refPath("pin/x")))
        XCTAssertNil(try t.store.ref("pin/x"))
        XCTAssertEqual(t.reports.count, 1)
    }
}
