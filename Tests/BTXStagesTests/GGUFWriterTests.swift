@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// The GGUF container as btxpipe writes it, read back by llama.cpp's own Python reader (gguf-py).
final class GGUFWriterTests: XCTestCase {
    /// Metadata of every value type, as `gguf_reference.py dump` prints it.
    private let everyType: [(key: String, value: GGUFValue)] = [
        ("t.u8", .uint8(200)), ("t.i8", .int8(-100)), ("t.u16", .uint16(60000)), ("t.i16", .int16(-30000)),
        ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-2_000_000_000)), ("t.u64", .uint64(1 << 40)),
        ("t.i64", .int64(-(1 << 40))), ("t.f32", .float32(0.5)), ("t.f64", .float64(-0.25)), ("t.bool", .bool(true)),
        ("t.str", .string("héllo ✓")), ("t.arr", .array(.int32, [.int32(1), .int32(-2), .int32(3)])),
        ("t.strs", .array(.string, [.string("a"), .string(""), .string("b c")])),
    ]

    private let tensors = [GGUFWriter.Tensor(name: "a", shape: [3, 5], type: .f32),
                           GGUFWriter.Tensor(name: "b.q8", shape: [2, 32], type: .q8_0),
                           GGUFWriter.Tensor(name: "c", shape: [7], type: .f16)]

    /// Writes `tensors` with bytes i+1 everywhere (tensor i) and returns the file.
    private func write(alignment: Int, in dir: TemporaryDirectory) throws -> (URL, GGUFWriter) {
        let writer = try GGUFWriter(metadata: everyType, tensors: tensors, alignment: alignment)
        let url = dir.url.appendingPathComponent("t\(alignment).gguf")
        try writer.write(to: url) { i, sink in
            let count = tensors[i].type.byteCount(elements: tensors[i].shape.reduce(1, *))!
            let bytes = [UInt8](repeating: UInt8(i + 1), count: count)
            try bytes.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<3])); try sink(UnsafeRawBufferPointer(rebasing: $0[3...])) }
        }
        return (url, writer)
    }

    func testGGUFPyReadsEveryMetadataTypeTensorInfoAndAlignedOffsetBackExactly() throws {
        let dir = try TemporaryDirectory()
        for alignment in [32, 64] {
            let (url, writer) = try write(alignment: alignment, in: dir)
            let dump = try GGUFTestModels.dump(url)
            let metadata = try XCTUnwrap(dump["metadata"]?.objectValue)
            XCTAssertEqual(metadata["t.u8"]?["value"]?.intValue, 200)
            XCTAssertEqual(metadata["t.u8"]?["type"]?.stringValue, "UINT8")
            XCTAssertEqual(metadata["t.i8"]?["value"]?.intValue, -100)
            XCTAssertEqual(metadata["t.u16"]?["value"]?.intValue, 60000)
            XCTAssertEqual(metadata["t.i16"]?["value"]?.intValue, -30000)
            XCTAssertEqual(metadata["t.u32"]?["value"]?.intValue, 4_000_000_000)
            XCTAssertEqual(metadata["t.i32"]?["value"]?.intValue, -2_000_000_000)
            XCTAssertEqual(metadata["t.u64"]?["value"]?.intValue, 1 << 40)
            XCTAssertEqual(metadata["t.u64"]?["type"]?.stringValue, "UINT64")
            XCTAssertEqual(metadata["t.i64"]?["value"]?.intValue, -(1 << 40))
            XCTAssertEqual(metadata["t.f32"]?["value"]?.doubleValue, 0.5)
            XCTAssertEqual(metadata["t.f64"]?["value"]?.doubleValue, -0.25)
            XCTAssertEqual(metadata["t.f64"]?["type"]?.stringValue, "FLOAT64")
            XCTAssertEqual(metadata["t.bool"]?["value"], .bool(true))
            XCTAssertEqual(metadata["t.str"]?["value"]?.stringValue, "héllo ✓")
            XCTAssertEqual(metadata["t.arr"]?["value"], [1, -2, 3])
            XCTAssertEqual(metadata["t.arr"]?["element"]?.stringValue, "INT32")
            XCTAssertEqual(metadata["t.strs"]?["value"], ["a", "", "b c"])
            XCTAssertEqual(metadata["general.alignment"]?["value"]?.intValue, alignment == 32 ? nil : alignment)
            XCTAssertEqual(dump["alignment"]?.intValue, alignment)
            let dataOffset = try XCTUnwrap(dump["data_offset"]?.intValue)
            XCTAssertEqual(dataOffset % alignment, 0)
            let read = try XCTUnwrap(dump["tensors"]?.arrayValue)
            XCTAssertEqual(read.map { $0["name"]?.stringValue }, ["a", "b.q8", "c"])
            XCTAssertEqual(read.map { $0["shape"] }, [[3, 5], [2, 32], [7]])
            XCTAssertEqual(read.map { $0["type"]?.stringValue }, ["F32", "Q8_0", "F16"])
            let file = try Data(contentsOf: url)
            for (i, (info, entry)) in zip(writer.infos, read).enumerated() {
                let offset = try XCTUnwrap(entry["offset"]?.intValue)
                XCTAssertEqual(offset, dataOffset + info.offset, "gguf-py's absolute offset of \(info.name)")
                XCTAssertEqual(offset % alignment, 0)
                let count = info.type.byteCount(elements: info.elementCount)!
                XCTAssertEqual(Array(file[offset..<(offset + count)]), [UInt8](repeating: UInt8(i + 1), count: count))
            }
        }
    }

    func testARowThatIsNotWholeBlocksIsRefusedNamingTheTensor() {
        XCTAssertThrowsError(try GGUFWriter(metadata: [], tensors: [.init(name: "blk.0.x", shape: [4, 48], type: .q8_0)])) {
            XCTAssertTrue("\($0)".contains("blk.0.x") && "\($0)".contains("q8_0"), "\($0)")
        }
    }

    func testAFailedOrShortTensorLeavesNoFileAndNoTemporaryBehind() throws {
        let dir = try TemporaryDirectory()
        let writer = try GGUFWriter(metadata: everyType, tensors: tensors)
        let url = dir.url.appendingPathComponent("x.gguf")
        struct Boom: Error {}
        XCTAssertThrowsError(try writer.write(to: url) { i, _ in if i == 1 { throw Boom() } })
        XCTAssertThrowsError(try writer.write(to: url) { _, sink in try [UInt8](repeating: 0, count: 4).withUnsafeBytes { try sink($0) } }) {
            XCTAssertTrue("\($0)".contains("tensor a: 4 bytes written, 60 expected"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.url.path), [])
    }
}
