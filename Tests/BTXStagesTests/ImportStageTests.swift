import BTXPipeline
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

final class ImportStageTests: XCTestCase {
    private func context(_ store: Store, _ params: [String: JSONValue]) -> StageContext {
        StageContext(store: store, stage: "import", key: .of(JSONValue.object(params).canonicalText), params: StageParams(params))
    }

    func testImportStageOutputsTheImportersManifestAndValidatesItsParams() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let path = HFFixtures.directory("llama-tied").path
        let output = try ImportStage().run(context(store, ["path": .string(path)]))
        XCTAssertEqual(output, try HFImporter.importModel(URL(fileURLWithPath: path), into: store))
        XCTAssertThrowsError(try ImportStage().validate(StageParams(["path": 3]))) { XCTAssertTrue("\($0)".hasPrefix("parameter 'path'"), "\($0)") }
        XCTAssertThrowsError(try ImportStage().validate(StageParams(["path": "x", "format": "onnx"]))) { XCTAssertTrue("\($0)".hasPrefix("parameter 'format'"), "\($0)") }
    }

    func testSourceFingerprintFollowsTheCheckpointFiles() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let checkpoint = dir.url.appendingPathComponent("ckpt")
        try FileManager.default.copyItem(at: HFFixtures.directory("llama-tied"), to: checkpoint)
        let params = StageParams(["path": .string(checkpoint.path)])
        let first = try ImportStage.sourceFingerprint(params, store: store)
        XCTAssertNotNil(first)
        XCTAssertEqual(try ImportStage.sourceFingerprint(params, store: store), first)
        let config = checkpoint.appendingPathComponent("config.json")
        try (try Data(contentsOf: config) + Data("\n".utf8)).write(to: config)
        XCTAssertNotEqual(try ImportStage.sourceFingerprint(params, store: store), first)
    }
}
