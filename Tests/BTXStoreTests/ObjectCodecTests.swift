import Foundation
import XCTest
@testable import BTXStore

/// The encoder and decoder give the same bytes whatever their thread and window counts, and the
/// pipelined decoder reports damage with the file and the chunk, never handing out unverified bytes.
final class ObjectCodecTests: XCTestCase {
    /// Weight-like chunks, then random (raw-stored) ones, then a short tail.
    private func mixedBytes() -> [UInt8] {
        var state: UInt64 = 11
        let noise = (0..<(2 << 20)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        return weightLikeBytes(count: 2 << 20, seed: 4) + noise + [1, 2, 3]
    }

    func testOnDiskBytesDoNotDependOnWorkersOrWindow() throws {
        let t = try TestStore()
        let bytes = mixedBytes()
        var files: [Data] = []
        for (workers, window) in [(1, 1), (2, 3), (3, 16)] {
            let path = t.directory.url.appendingPathComponent("o-\(workers)-\(window)").path
            let out = try FileDescriptor(path: path, flags: O_WRONLY | O_CREAT | O_EXCL)
            let hash = try bytes.withUnsafeBytes {
                try ObjectEncoder(pool: t.store.pool, chunkSize: 1 << 20, window: window, workers: workers)
                    .encode(MemorySource(bytes: $0), elementSize: 4, into: out)
            }
            XCTAssertEqual(hash, ObjectHash.of(Data(bytes)))
            files.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        XCTAssertEqual(Set(files).count, 1)
    }

    func testEveryWorkerAndWindowCountDecodesTheSameBytes() throws {
        let t = try TestStore()
        let bytes = mixedBytes()
        let hash = try t.store.putObject(Data(bytes), elementSize: 4)
        for (workers, window) in [(1, 1), (2, 2), (3, 16)] {
            let decoder = ObjectDecoder(pool: t.store.pool, window: window, workers: workers)
            var buffer = [UInt8](repeating: 0, count: bytes.count)
            try buffer.withUnsafeMutableBytes { buffer in
                try decoder.decode(try FileDescriptor(path: t.store.objectPath(hash), flags: O_RDONLY), expected: hash) { _ in buffer }
            }
            XCTAssertEqual(buffer, bytes, "into a buffer, workers \(workers) window \(window)")
            var streamed: [UInt8] = []
            try decoder.decode(try FileDescriptor(path: t.store.objectPath(hash), flags: O_RDONLY), expected: hash,
                               begin: { XCTAssertEqual($0, bytes.count) }, sink: { streamed += $0 })
            XCTAssertEqual(streamed, bytes, "streamed, workers \(workers) window \(window)")
        }
    }

    func testAChunkThatDoesNotDecompressIsReportedWithItsIndexAndPath() throws {
        let t = try TestStore()
        let hash = try t.store.putObject(Data(weightLikeBytes(count: 3 << 20, seed: 5)), elementSize: 4)
        let path = t.store.objectPath(hash)
        var file = try Data(contentsOf: URL(fileURLWithPath: path))
        let first = Int(file[24..<28].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        file[24 + 4 + first + 4] ^= 0xFF   // the zstd magic number of chunk 1
        try file.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try t.store.object(hash)) { error in
            guard case .corrupt(let where_, let reason)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(where_, path)
            XCTAssertTrue(reason.contains("chunk 1 of 3"), reason)
        }
        XCTAssertFalse(t.store.hasObject(hash))
    }

    func testAFailedTensorReadLeavesNoContentInTheBuffer() throws {
        let t = try TestStore()
        let values = (0..<(3 << 18)).map { Float($0 % 1000) * 0.001 }
        let entry = try t.store.putTensor(values, shape: [values.count])
        let path = t.store.objectPath(entry.object)
        var file = try Data(contentsOf: URL(fileURLWithPath: path))
        file[file.count / 2] ^= 0x01
        try file.write(to: URL(fileURLWithPath: path))
        var back = [Float](repeating: 0, count: values.count)
        XCTAssertThrowsError(try back.withUnsafeMutableBytes { try t.store.readTensor(entry, into: $0) }) { error in
            guard case .corrupt(let where_, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(where_, path)
        }
        XCTAssertTrue(back.allSatisfy { $0.bitPattern == 0xFFFF_FFFF }, "the buffer must hold NaN markers, not decoded data")
        XCTAssertThrowsError(try t.store.floats(entry)) { XCTAssertEqual($0 as? StoreError, .missing(entry.object)) }
    }

    func testReadingIntoABufferOfTheWrongSizeIsAnErrorAndLeavesTheObjectAlone() throws {
        let t = try TestStore()
        let entry = try t.store.putTensor([1, 2, 3, 4], shape: [4])
        var small = [Float](repeating: 7, count: 3)
        XCTAssertThrowsError(try small.withUnsafeMutableBytes { try t.store.readTensor(entry, into: $0) }) {
            XCTAssertEqual($0 as? StoreError, .bufferSize(hash: entry.object, expected: 16, actual: 12))
        }
        XCTAssertEqual(small, [7, 7, 7])
        var lying = entry
        lying.shape = [3]
        XCTAssertThrowsError(try small.withUnsafeMutableBytes { try t.store.readTensor(lying, into: $0) }) {
            XCTAssertEqual($0 as? StoreError, .shapeMismatch(shape: [3], dtype: .f32, expectedBytes: 12, actualBytes: 16))
        }
        XCTAssertTrue(t.store.hasObject(entry.object), "a caller's mistake is not damage")
        XCTAssertEqual(try t.store.floats(entry), [1, 2, 3, 4])
    }

    func testASinkErrorStopsTheReadAndIsNotTakenForDamage() throws {
        let t = try TestStore()
        let hash = try t.store.putObject(Data(weightLikeBytes(count: 5 << 20, seed: 2)), elementSize: 2)
        var chunks = 0
        XCTAssertThrowsError(try t.store.read(hash, begin: { _ in }, sink: { _ in
            chunks += 1
            if chunks == 2 { throw StoreError.io(path: "sink", operation: "write", errno: ENOSPC) }
        })) { XCTAssertEqual($0 as? StoreError, .io(path: "sink", operation: "write", errno: ENOSPC)) }
        XCTAssertEqual(chunks, 2)
        XCTAssertTrue(t.store.hasObject(hash))
        XCTAssertNil(t.store.verifyObject(hash))
    }
}
