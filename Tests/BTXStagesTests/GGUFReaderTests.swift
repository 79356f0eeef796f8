@testable import BTXStages
import Foundation
import TestSupport
import XCTest

/// The GGUF reader against files written by llama.cpp's `gguf` package (Tests/Fixtures/gguf/types*.gguf)
/// and against every kind of damage a hostile or broken file can carry.
final class GGUFReaderTests: XCTestCase {
    func testReadsEveryValueTypeAndTensorTypeAsTheGGUFPackageWroteThemInV3AndV2() throws {
        let expected = try GGUFFixtures.json("types.expected.json")
        let metadata = try XCTUnwrap(expected["metadata"] as? [String: [String: Any]])
        let tensors = try XCTUnwrap(expected["tensors"] as? [[String: Any]])
        for (file, version) in [("types.gguf", UInt32(3)), ("types-v2.gguf", 2)] {
            let reader = try GGUFReader(path: GGUFFixtures.url(file).path)
            XCTAssertEqual(reader.version, version)
            XCTAssertEqual(Set(reader.keys), Set(metadata.keys), file)
            XCTAssertEqual(reader.alignment, 64)
            for (key, entry) in metadata {
                let value = try XCTUnwrap(reader.metadata[key], key)
                try assertValue(value, equals: entry, key: key)
            }
            XCTAssertEqual(reader.tensors.map(\.name), tensors.compactMap { $0["name"] as? String })
            for (info, want) in zip(reader.tensors, tensors) {
                XCTAssertEqual(info.type.name.lowercased(), want["type"] as? String)
                XCTAssertEqual(info.shape, want["shape"] as? [Int])
                XCTAssertEqual(info.offset, want["offset"] as? Int)
                let values = try reader.floats(info), golden = try GGUFFixtures.floats(want["values"])
                // Bit for bit, as ggml-quants.c / gguf.quants.dequantize compute them.
                XCTAssertEqual(values.map(\.bitPattern), golden.map(\.bitPattern), "\(info.name) in \(file)")
            }
        }
    }

    private func assertValue(_ value: GGUFValue, equals entry: [String: Any], key: String) throws {
        let types = try XCTUnwrap(entry["types"] as? [Int])
        XCTAssertEqual(Int(value.type.rawValue), types[0], key)
        switch value {
        case let .array(elementType, elements):
            XCTAssertEqual(Int(elementType.rawValue), types[1], key)
            if let strings = entry["value"] as? [String] { XCTAssertEqual(elements.compactMap(\.stringValue), strings, key) }
            else { XCTAssertEqual(elements.compactMap(\.intValue), try XCTUnwrap(entry["value"] as? [Int]), key) }
        case let .string(s): XCTAssertEqual(s, entry["value"] as? String, key)
        case let .bool(b): XCTAssertEqual(b, entry["value"] as? Bool, key)
        case let .uint64(u): XCTAssertEqual(u, try XCTUnwrap(entry["value"] as? NSNumber).uint64Value, key)
        case let .float32(f): XCTAssertEqual(f, Float(try XCTUnwrap(entry["value"] as? NSNumber).doubleValue), key)
        case let .float64(d):
            // NOTE: Foundation's JSON parser may be an ulp off a double; the value read is exact.
            let want = try XCTUnwrap(entry["value"] as? NSNumber).doubleValue
            XCTAssertEqual(d, want, accuracy: abs(want) * 1e-15, key)
        default: XCTAssertEqual(value.intValue, try XCTUnwrap(entry["value"] as? NSNumber).intValue, key)
        }
    }

    /// The reader's error for the edited file, checked to be one line naming the file and `field`.
    private func error(_ dir: TemporaryDirectory, field: String, _ edit: (inout [UInt8]) throws -> Void,
                       file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = try GGUFFixtures.edited("types.gguf", in: dir, edit)
        do {
            _ = try GGUFReader(path: path)
            XCTFail("accepted a damaged file (expected an error about \(field))", file: file, line: line)
            return ""
        } catch let error as GGUFError {
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
            XCTAssertTrue(text.hasPrefix(path + ": " + field), text, file: file, line: line)
            return text
        }
    }

    private func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    func testRefusesBadMagicOtherVersionsAndLyingCounts() throws {
        let dir = try TemporaryDirectory()
        XCTAssertTrue(try error(dir, field: "magic") { $0[0...3] = [0x47, 0x47, 0x4D, 0x4C] }.contains("not a GGUF file"))
        XCTAssertTrue(try error(dir, field: "version") { put(UInt32(1), at: 4, in: &$0) }.contains("GGUF version 1"))
        XCTAssertTrue(try error(dir, field: "version") { put(UInt32(4), at: 4, in: &$0) }.contains("GGUF version 4"))
        XCTAssertTrue(try error(dir, field: "tensor_count") { put(UInt64(1) << 40, at: 8, in: &$0) }.contains("count 1099511627776"))
        XCTAssertTrue(try error(dir, field: "metadata_kv_count") { put(UInt64.max, at: 16, in: &$0) }.contains("only"))
        // The first key's length (offset 24) claims more than the file holds.
        XCTAssertTrue(try error(dir, field: "metadata key #0") { put(UInt64.max - 3, at: 24, in: &$0) }.contains("string length"))
        // The first value's type (after the 20-byte key "general.architecture").
        XCTAssertTrue(try error(dir, field: "metadata general.architecture") { put(UInt32(13), at: 52, in: &$0) }.contains("unknown value type 13"))
    }

    func testRefusesLyingTensorDimensionsTypesAndOffsets() throws {
        let dir = try TemporaryDirectory()
        // tensor.q8_0's info: name, n_dims u32, ne u64 × 2, type u32, offset u64.
        func info(_ bytes: [UInt8]) throws -> Int { try GGUFFixtures.offset(of: "tensor.q8_0", in: bytes) + "tensor.q8_0".utf8.count }
        let field = "tensor tensor.q8_0"
        XCTAssertTrue(try error(dir, field: field) { put(UInt32(5), at: try info($0), in: &$0) }.contains("n_dims 5"))
        XCTAssertTrue(try error(dir, field: field) { put(UInt64(0), at: try info($0) + 4, in: &$0) }.contains("ne[0] = 0"))
        XCTAssertTrue(try error(dir, field: field) { put(UInt64(1) << 30, at: try info($0) + 12, in: &$0) }.contains("more elements"))
        XCTAssertTrue(try error(dir, field: field) { put(UInt64(48), at: try info($0) + 4, in: &$0) }.contains("multiple of q8_0's block"))
        XCTAssertTrue(try error(dir, field: field) { put(UInt32(99), at: try info($0) + 20, in: &$0) }.contains("unknown ggml type 99"))
        XCTAssertTrue(try error(dir, field: field) { put(UInt64(1 << 20), at: try info($0) + 24, in: &$0) }.contains("beyond the file"))
        XCTAssertTrue(try error(dir, field: field) { put(UInt64(1152 + 1), at: try info($0) + 24, in: &$0) }.contains("alignment 64"))
        XCTAssertTrue(try error(dir, field: field) { put(UInt64(3904 - 64), at: try info($0) + 24, in: &$0) }.contains("runs past"))
    }

    func testEveryTruncationGivesAOneLineErrorAndNeverACrash() throws {
        let dir = try TemporaryDirectory()
        let full = [UInt8](try Data(contentsOf: GGUFFixtures.url("types.gguf")))
        // The data section ends at 3894 (then 10 bytes of padding to the alignment).
        for length in [0, 3, 7, 15, 23, 30, 60, 200, 500, 700, 900, 1000, 3000, 3893] {
            let path = try GGUFFixtures.edited("types.gguf", in: dir) { $0 = Array(full[..<length]) }
            XCTAssertThrowsError(try GGUFReader(path: path), "length \(length)") { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix(path + ": "), text)
                XCTAssertTrue(text.contains("truncated") || text.contains("runs past") || text.contains("beyond"), "length \(length): \(text)")
                XCTAssertFalse(text.contains("\n"), text)
            }
        }
        XCTAssertThrowsError(try GGUFReader(path: dir.path("missing.gguf"))) { XCTAssertTrue("\($0)".contains("cannot open"), "\($0)") }
    }
}
