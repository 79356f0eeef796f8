import Foundation
import TestSupport
import XCTest
@testable import BTXStore

/// Builds safetensors files byte by byte, so malformed ones can be written on purpose.
func safetensorsFile(header: String, data: [UInt8], lengthField: UInt64? = nil) -> Data {
    var out = Data()
    withUnsafeBytes(of: (lengthField ?? UInt64(header.utf8.count)).littleEndian) { out.append(contentsOf: $0) }
    return out + Data(header.utf8) + Data(data)
}

final class SafetensorsTests: XCTestCase {
    /// A small model-like file: f32, bf16 and i32 tensors plus metadata.
    private func sampleFile(in t: TestStore) throws -> (URL, [String: [UInt8]]) {
        let w = weightLikeBytes(count: 6 * 4, seed: 1), b = weightLikeBytes(count: 4 * 2, seed: 2), ids = weightLikeBytes(count: 3 * 4, seed: 3)
        let header = """
        {"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},\
        "ids":{"dtype":"I32","shape":[3],"data_offsets":[24,36]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[36,44]}}
        """
        let url = t.directory.url.appendingPathComponent("model.safetensors")
        try safetensorsFile(header: header, data: w + ids + b).write(to: url)
        return (url, ["w": w, "b": b, "ids": ids])
    }

    func testSingleFileRoundTripsWithByteIdenticalTensors() throws {
        let t = try TestStore()
        let (url, expected) = try sampleFile(in: t)
        let manifest = try t.store.importSafetensors(url)
        XCTAssertEqual(manifest.kind, "safetensors")
        XCTAssertEqual(manifest.metadata["format"], "pt")
        XCTAssertEqual(manifest.tensors["w"]?.shape, [2, 3])
        XCTAssertEqual(manifest.tensors["b"]?.dtype, .bf16)
        for (name, bytes) in expected { XCTAssertEqual(try t.store.object(manifest.tensors[name]!.object), Data(bytes)) }
        let out = t.directory.url.appendingPathComponent("out.safetensors")
        try t.store.exportSafetensors(manifest, to: out)
        XCTAssertEqual(try t.store.importSafetensors(out), manifest)
        let written = try Data(contentsOf: out)
        let headerLength = Int(written.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual((8 + headerLength) % 8, 0, "data section is 8-byte aligned")
        XCTAssert(String(decoding: written[8..<(8 + headerLength)], as: UTF8.self).hasPrefix("{\"__metadata__\""))
    }

    func testShardedCheckpointRoundTrips() throws {
        let t = try TestStore()
        var tensors: [String: TensorEntry] = [:]
        for i in 0..<5 {
            let values = (0..<(100 * (i + 1))).map { Float($0) * 0.01 + Float(i) }
            tensors["model.layers.\(i).mlp.up_proj.weight"] = try t.store.putTensor(values, shape: [i + 1, 100])
        }
        let manifest = Manifest(kind: "safetensors", tensors: tensors)
        let directory = t.directory.url.appendingPathComponent("sharded")
        let files = try t.store.exportShardedSafetensors(manifest, to: directory, maxShardBytes: 4000)
        XCTAssertGreaterThan(files.count, 1)
        let back = try t.store.importSafetensors(directory.appendingPathComponent("model.safetensors.index.json"))
        XCTAssertEqual(back.tensors, manifest.tensors)
        XCTAssertEqual(back.metadata["index"]?["total_size"], .int(Int64(tensors.values.reduce(0) { $0 + $1.byteCount })))
    }

    func testShardedIndexNamingAMissingTensorIsRejected() throws {
        let t = try TestStore()
        let (url, _) = try sampleFile(in: t)
        let index = t.directory.url.appendingPathComponent("model.safetensors.index.json")
        try Data("{\"weight_map\":{\"w\":\"\(url.lastPathComponent)\",\"ghost\":\"\(url.lastPathComponent)\"}}".utf8).write(to: index)
        XCTAssertThrowsError(try t.store.importSafetensors(index)) { XCTAssert("\($0)".contains("ghost"), "\($0)") }
    }

    /// Each malformed file gives one `SafetensorsError` line naming the file and the problem.
    func testEachMalformedFileGivesItsOneLineError() throws {
        let t = try TestStore()
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let cases: [(String, Data, String)] = [
            ("short", Data([1, 2, 3]), "shorter than"),
            ("hugelength", safetensorsFile(header: ok, data: [], lengthField: 1 << 40), "header length"),
            ("pastend", safetensorsFile(header: ok, data: [], lengthField: 500), "past the end"),
            ("notjson", safetensorsFile(header: "{this is not json}", data: []), "not a JSON object"),
            ("notobject", safetensorsFile(header: "[1,2,3]", data: []), "not a JSON object"),
            ("dtype", safetensorsFile(header: #"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "unknown or unsupported dtype F64"),
            ("duplicate", safetensorsFile(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [1, 2]), "duplicate tensor name \"a\""),
            ("overlap", safetensorsFile(header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#, data: [1, 2, 3]), "overlap"),
            ("range", safetensorsFile(header: ok, data: [0, 0, 0, 0]), "outside the data section"),
            ("negative", safetensorsFile(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}"#, data: [0]), "outside the data section"),
            ("size", safetensorsFile(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "is 12 bytes but data_offsets span 8"),
            ("shape", safetensorsFile(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "non-negative"),
            ("metadata", safetensorsFile(header: #"{"__metadata__":{"x":1}}"#, data: []), "is not a string"),
        ]
        for (name, bytes, expected) in cases {
            let url = t.directory.url.appendingPathComponent("\(name).safetensors")
            try bytes.write(to: url)
            XCTAssertThrowsError(try t.store.importSafetensors(url), name) { error in
                guard let error = error as? SafetensorsError else { return XCTFail("\(name): \(error)") }
                let line = "\(error)"
                XCTAssert(line.contains(url.path) && line.contains(expected), "\(name): \(line)")
                XCTAssertFalse(line.contains("\n"), name)
            }
        }
    }

    func testExportOfAMissingTensorLeavesNoFile() throws {
        let t = try TestStore()
        let manifest = Manifest(kind: "safetensors", tensors: ["x": TensorEntry(dtype: .f32, shape: [1], object: ObjectHash.of("nope"))])
        let out = t.directory.url.appendingPathComponent("x.safetensors")
        XCTAssertThrowsError(try t.store.exportSafetensors(manifest, to: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.directory.url.path).filter { $0 != "store" }, [])
    }
}
