import Foundation
import TestSupport
import XCTest
@testable import BTXStore

/// Mutated inputs for every format the store parses (issue 15's fuzzing figure): object files,
/// manifest and action JSON, safetensors. Each input must be read or refused with a one-line
/// error; never a crash, a trap or a hang. `make soak` runs 10,000 per format.
final class StoreFuzzTests: XCTestCase {
    private func assertClean(_ outcome: FuzzHarness.Outcome, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(outcome.multiLine, [], "errors must be one line", file: file, line: line)
        XCTAssertLessThan(outcome.slowest, 5, "an input took \(outcome.slowest) s: a hang?", file: file, line: line)
    }

    func testMutatedObjectFilesAreRefusedWithOneLineAndNeverReturned() throws {
        let t = try TestStore()
        let contents: [Data] = [Data(weightLikeBytes(count: (1 << 20) + 5000, seed: 1)), Data("small".utf8), Data(), Data(repeating: 7, count: 5000)]
        var seeds: [[UInt8]] = [], hashes: [ObjectHash] = []
        for (i, content) in contents.enumerated() {
            let hash = try t.store.putObject(content, elementSize: i == 0 ? 4 : 1)
            hashes.append(hash)
            seeds.append(Array(try Data(contentsOf: URL(fileURLWithPath: t.store.objectPath(hash)))))
        }
        var index = 0
        let outcome = FuzzHarness.run(format: "object", seeds: seeds) { bytes in
            let i = index % seeds.count
            index += 1
            let path = t.store.objectPath(hashes[i])
            let quarantine = t.store.quarantineDirectory
            defer {   // damaged copies are moved aside on every refusal: keep the disk from filling
                for name in (try? FileManager.default.contentsOfDirectory(atPath: quarantine)) ?? [] { unlink(quarantine + "/" + name) }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let read = try t.store.object(hashes[i])
            XCTAssertEqual(read, contents[i], "a mutated object that reads back must read back as itself")
        }
        assertClean(outcome)
    }

    func testMutatedManifestAndActionJSONDecodeOrFailAtTheBoundary() throws {
        let t = try TestStore()
        let tensor = try t.store.putTensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let manifest = Manifest(kind: "model", tensors: ["w": tensor, "b": TensorEntry(dtype: .bf16, shape: [4], object: tensor.object)],
                                objects: ["tokenizer": ObjectHash.of("t")], metadata: ["config": ["hidden": 64, "name": "x"]])
        let entry = ActionEntry(output: ObjectHash.of("o"), record: ObjectHash.of("r"))
        let seeds = [Array(try manifest.canonicalData()), Array(try JSONValue(encoding: entry).canonicalData)]
        let outcome = FuzzHarness.run(format: "manifest-action-json", seeds: seeds) { bytes in
            let data = Data(bytes)
            // The store reads documents through `StoreDocument`: whatever it accepts, JSONDecoder (the
            // Decodable conformance with the same checks) accepts with the same value.
            if let decoded = try? Manifest(jsonData: data) {
                for entry in decoded.tensors.values { _ = entry.byteCount }   // validated: cannot trap
                _ = decoded.referencedObjects
                XCTAssertEqual(try? JSONDecoder().decode(Manifest.self, from: data), decoded, "StoreDocument accepted a manifest JSONDecoder refuses")
            }
            if let entry = try? ActionEntry(jsonData: data) {
                XCTAssertEqual(try? JSONDecoder().decode(ActionEntry.self, from: data), entry, "StoreDocument accepted an action entry JSONDecoder refuses")
            }
            let hash = try t.store.putObject(data)
            _ = try t.store.manifest(hash)
        }
        assertClean(outcome)
    }

    func testMutatedSafetensorsFilesImportOrFailWithOneLine() throws {
        let t = try TestStore()
        let header = """
        {"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},\
        "ids":{"dtype":"I32","shape":[3],"data_offsets":[24,36]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[36,44]}}
        """
        let seeds = [Array(safetensorsFile(header: header, data: weightLikeBytes(count: 44, seed: 4)))]
        let url = t.directory.url.appendingPathComponent("fuzz.safetensors")
        let outcome = FuzzHarness.run(format: "safetensors", seeds: seeds) { bytes in
            try Data(bytes).write(to: url)
            let manifest = try t.store.importSafetensors(url)
            for entry in manifest.tensors.values { XCTAssertEqual(try t.store.objectLength(entry.object), entry.byteCount) }
        }
        assertClean(outcome)
    }
}
