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
        XCTAssertThrowsError(try ImportStage().validate(StageParams(["path": "x", "format": "gguf"]))) { XCTAssertTrue("\($0)".hasPrefix("parameter 'format'"), "\($0)") }
    }
}
