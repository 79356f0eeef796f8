import Foundation
import TestSupport
import XCTest
@testable import BTXStore

/// Lines a store reported, collected thread-safely.
final class ReportLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

/// A store in a fresh temporary directory that collects its damage reports.
final class TestStore {
    let directory: TemporaryDirectory
    let store: Store
    let log = ReportLog()
    var reports: [String] { log.all }

    init() throws {
        directory = try TemporaryDirectory(prefix: "btxstore")
        let log = self.log
        store = try Store(root: directory.url.appendingPathComponent("store"), report: { log.append($0) })
    }
}

/// Deterministic bytes that look like weights (small normals), so chunks really compress.
func weightLikeBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        out[i] = i % 4 == 3 ? (0x3C | UInt8(state >> 63)) : UInt8(truncatingIfNeeded: state >> 33)
    }
    return out
}

final class StoreTests: XCTestCase {
    func testEveryDTypeRoundTripsIncludingOddSizesAndEmpty() throws {
        let t = try TestStore()
        for dtype in ElementType.allCases {
            for count in [0, 1, 7, 1000, (1 << 20) / dtype.size + 3] {
                let bytes = weightLikeBytes(count: count * dtype.size, seed: UInt64(count))
                let entry = try bytes.withUnsafeBytes { try t.store.putTensor($0, dtype: dtype, shape: [count]) }
                var back = [UInt8](repeating: 0xAA, count: bytes.count)
                try back.withUnsafeMutableBytes { try t.store.readTensor(entry, into: $0) }
                XCTAssertEqual(back, bytes, "\(dtype) × \(count)")
                XCTAssertEqual(entry.object, ObjectHash.of(Data(bytes)))
            }
        }
    }

    func testMultiBatchObjectWithTrailingPartialElementRoundTrips() throws {
        let t = try TestStore()
        let bytes = Data(weightLikeBytes(count: 17 * (1 << 20) + 7, seed: 1))  // > one batch, last element partial
        let hash = try t.store.putObject(bytes, elementSize: 4)
        XCTAssertEqual(try t.store.object(hash), bytes)
        let file = t.directory.url.appendingPathComponent("copy.bin")
        try t.store.copyObject(hash, to: file)
        XCTAssertEqual(try Data(contentsOf: file), bytes)
        let source = t.directory.url.appendingPathComponent("source.bin")
        try bytes.write(to: source)
        XCTAssertEqual(try t.store.putObject(contentsOf: source, elementSize: 4), hash)
    }

    func testOnDiskBytesDoNotDependOnTheWriter() throws {
        let a = try TestStore(), b = try TestStore()
        let bytes = Data(weightLikeBytes(count: 5 * (1 << 20) + 2, seed: 9))
        let hash = try a.store.putObject(bytes, elementSize: 2)
        XCTAssertEqual(try b.store.putObject(bytes, elementSize: 2), hash)
        XCTAssertEqual(FileManager.default.contents(atPath: a.store.objectPath(hash)),
                       FileManager.default.contents(atPath: b.store.objectPath(hash)))
    }

    func testShufflingMakesWeightsSmallerOnDisk() throws {
        let t = try TestStore()
        let bytes = Data(weightLikeBytes(count: 1 << 20, seed: 3))
        let plain = try t.store.putObject(bytes, elementSize: 1)
        try FileManager.default.removeItem(atPath: t.store.objectPath(plain))
        let plainSize = try XCTUnwrap(try? Data(contentsOf: URL(fileURLWithPath: t.store.objectPath(try t.store.putObject(bytes)))).count)
        try FileManager.default.removeItem(atPath: t.store.objectPath(plain))
        let shuffledSize = try Data(contentsOf: URL(fileURLWithPath: t.store.objectPath(try t.store.putObject(bytes, elementSize: 4)))).count
        XCTAssertLessThan(shuffledSize, plainSize)
    }

    func testIdenticalTensorsAreStoredOnce() throws {
        let t = try TestStore()
        let a = try t.store.putTensor([1, 2, 3, 4], shape: [2, 2])
        let b = try t.store.putTensor([1, 2, 3, 4], shape: [4])
        XCTAssertEqual(a.object, b.object)
        let shard = (t.store.objectPath(a.object) as NSString).deletingLastPathComponent
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: shard).count, 1)
    }

    func testFloatsConvertsHalfFormats() throws {
        let t = try TestStore()
        let values: [Float] = [0, 1, -2.5, 0.15625, 65504, 3.0e-5]
        let bf16 = values.map(HalfFloat.floatToBF16), f16 = values.map(HalfFloat.floatToF16)
        let b = try bf16.withUnsafeBytes { try t.store.putTensor($0, dtype: .bf16, shape: [6]) }
        let h = try f16.withUnsafeBytes { try t.store.putTensor($0, dtype: .f16, shape: [2, 3]) }
        XCTAssertEqual(try t.store.floats(b), bf16.map(HalfFloat.bf16ToFloat))
        XCTAssertEqual(try t.store.floats(h), f16.map(HalfFloat.f16ToFloat))
        XCTAssertEqual(try t.store.floats(t.store.putTensor(values, shape: [6])), values)
        let ints = try [Int32](repeating: 1, count: 2).withUnsafeBytes { try t.store.putTensor($0, dtype: .i32, shape: [2]) }
        XCTAssertThrowsError(try t.store.floats(ints))
    }

    func testShapeAndBufferMismatchesAreRejected() throws {
        let t = try TestStore()
        XCTAssertThrowsError(try t.store.putTensor([1, 2, 3], shape: [2, 2]))
        XCTAssertThrowsError(try t.store.putTensor([1, 2, 3], shape: [-1, -3]))
        let entry = try t.store.putTensor([1, 2, 3, 4], shape: [4])
        var small = [Float](repeating: 0, count: 3)
        XCTAssertThrowsError(try small.withUnsafeMutableBytes { try t.store.readTensor(entry, into: $0) })
        var lying = entry
        lying.shape = [3]
        XCTAssertThrowsError(try small.withUnsafeMutableBytes { try t.store.readTensor(lying, into: $0) })
    }

    func testMissingObjectThrowsMissing() throws {
        let t = try TestStore()
        let hash = ObjectHash.of("never stored")
        XCTAssertFalse(t.store.hasObject(hash))
        XCTAssertThrowsError(try t.store.object(hash)) { XCTAssertEqual($0 as? StoreError, .missing(hash)) }
    }
}
