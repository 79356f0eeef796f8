@testable import BTXStore
import Foundation
import XCTest

/// The store's documents read from the byte parser's tree (`StoreDocument`): the same values as
/// `JSONDecoder` gives, and one-line errors naming the field when a document is damaged.
final class StoreDocumentParsingTests: XCTestCase {
    private let hash = ObjectHash(hex: String(repeating: "ab", count: 32))!
    private let other = ObjectHash(hex: String(repeating: "cd", count: 32))!

    private var manifest: Manifest {
        Manifest(kind: "model", tensors: ["w": TensorEntry(dtype: .f32, shape: [2, 3], object: hash), "s": TensorEntry(dtype: .u8, shape: [], object: other)],
                 objects: ["tokenizer.json": other], metadata: ["config": ["hidden_size": 128, "rate": 0.003, "name": "x", "flags": [true, .null]]])
    }

    func testDocumentsReadBackAsJSONDecoderReadsThem() throws {
        let data = try manifest.canonicalData()
        XCTAssertEqual(try Manifest(jsonData: data), manifest)
        XCTAssertEqual(try Manifest(jsonData: data), try JSONDecoder().decode(Manifest.self, from: data))
        let record = RunRecord(stage: "seed", kind: "train", kindVersion: 3, key: hash, start: 1.5e9, end: 1.5e9 + 12.25, host: "h",
                               btxpipeVersion: "v", metrics: ["loss": 2.5, "steps": 10], log: other)
        let recordData = try JSONValue(encoding: record).canonicalData
        XCTAssertEqual(try RunRecord(jsonData: recordData), record)
        var noLog = record
        noLog.log = nil
        XCTAssertEqual(try RunRecord(jsonData: try JSONValue(encoding: noLog).canonicalData), noLog)
        let entry = ActionEntry(output: hash, record: other)
        XCTAssertEqual(try ActionEntry(jsonData: try JSONValue(encoding: entry).canonicalData), entry)
    }

    func testDamagedDocumentsNameTheField() throws {
        func error(_ text: String) -> String {
            do { _ = try Manifest(jsonData: Data(text.utf8)); return "no error" } catch { return "\(error)" }
        }
        let h = hash.hex
        XCTAssertTrue(error(#"{"kind":"m","tensors":{},"objects":{}}"#).contains("missing field 'metadata'"))
        XCTAssertTrue(error(#"{"kind":"m","tensors":{},"objects":{"a":"xyz"},"metadata":{}}"#).contains("objects: field 'a': expected 64 lowercase hex digits"))
        XCTAssertTrue(error(#"{"kind":"m","tensors":{"w":{"dtype":"f32","shape":[-1],"object":"\#(h)"}},"objects":{},"metadata":{}}"#)
                        .contains("tensors.w: shape [-1] of f32 is negative"))
        XCTAssertTrue(error(#"{"kind":"m","tensors":{"w":{"dtype":"f32","shape":[4611686018427387904,4],"object":"\#(h)"}},"objects":{},"metadata":{}}"#)
                        .contains("is negative or over"))
        XCTAssertTrue(error(#"{"kind":"m","tensors":{"w":{"dtype":"f64","shape":[1],"object":"\#(h)"}},"objects":{},"metadata":{}}"#)
                        .contains("tensors.w: unknown dtype 'f64'"))
        XCTAssertTrue(error(#"[1,2]"#).contains("expected an object"))
        XCTAssertThrowsError(try Manifest(jsonData: Data(#"{"kind":"#.utf8)))
        XCTAssertThrowsError(try ActionEntry(jsonData: Data(#"{"output":"\#(h)"}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("missing field 'record'"), "\($0)")
        }
    }
}
