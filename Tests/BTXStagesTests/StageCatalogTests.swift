import BTXPipeline
@testable import BTXStages
import BTXStore
import TestSupport
import XCTest

final class StageCatalogTests: XCTestCase {
    private func context(_ store: Store, _ params: [String: JSONValue], inputs: [String: Manifest] = [:]) -> StageContext {
        StageContext(store: store, stage: "s", key: .of(JSONValue.object(params).canonicalText), params: StageParams(params),
                     inputs: inputs)
    }

    private func text(_ manifest: Manifest, _ store: Store) throws -> String {
        String(decoding: try store.object(XCTUnwrap(manifest.objects["text"])), as: UTF8.self)
    }

    func testCatalogHasEveryKindOnce() {
        XCTAssertEqual(StageCatalog.registry.names, ["btm", "concat", "evaluate", "fetch", "finetune", "import", "init", "math-problems",
                                                  "mix", "report", "text", "tokenize", "tokenizer", "train", "upcycle"])
    }

    func testTextWritesItsParameterAsAnObject() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let output = try TextStage().run(context(store, ["text": "héllo"]))
        XCTAssertEqual(try text(output, store), "héllo")
        XCTAssertEqual(output.metadata["bytes"], 6)
    }

    func testConcatJoinsItsPartsInOrder() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let parts = try ["a", "b", "c"].map { try TextStage().run(context(store, ["text": .string($0)])) }
        let inputs = ["parts.0": parts[2], "parts.1": parts[0], "parts.2": parts[1]]
        let output = try ConcatStage().run(context(store, ["separator": "-"], inputs: inputs))
        XCTAssertEqual(try text(output, store), "c-a-b")
        XCTAssertThrowsError(try ConcatStage().run(context(store, [:]))) {
            XCTAssertEqual("\($0)", "input 'parts' is required")
        }
    }

    func testStepsResumeAfterTheLastCheckpoint() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let resumed = context(store, ["text": "x", "steps": 3])
        try resumed.saveCheckpoint(Manifest(kind: "checkpoint", metadata: ["step": 2]))
        XCTAssertEqual(try text(TextStage().run(resumed), store), "x")
        XCTAssertTrue(resumed.logText.hasPrefix("resuming at step 2 of 3\n"), resumed.logText)
        XCTAssertEqual(try resumed.loadCheckpoint()?.metadata["step"], 3)
    }

    func testValidationNamesTheBadField() {
        XCTAssertThrowsError(try TextStage().validate(StageParams(["text": "x", "steps": -1]))) {
            XCTAssertEqual("\($0)", "parameter 'steps': expected an integer in 0...1000000, got -1")
        }
        XCTAssertThrowsError(try TextStage().validate(StageParams([:]))) {
            XCTAssertEqual("\($0)", "parameter 'text' is required (a string)")
        }
    }
}
