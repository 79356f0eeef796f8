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
                                                  "mix", "report", "sweep", "text", "tokenize", "tokenizer", "train", "tune", "upcycle"])
    }

    func testEveryKindListsEveryParameterItsValidationReads() throws {
        for name in StageCatalog.registry.names {
            let kind = try XCTUnwrap(StageCatalog.registry.kind(named: name))
            let survey = StageRegistry.survey(of: kind)
            XCTAssertTrue(survey.complete, "\(name): validation stopped after \(survey.parameters.map(\.name))")
            for parameter in survey.parameters {
                XCTAssertNotNil(ParameterDocs.line(kind: name, parameter: parameter.name), "\(name).\(parameter.name) has no doc line")
            }
        }
        let fetch = StageRegistry.parameters(of: FetchStage.self).map(\.name)
        XCTAssertEqual(Set(fetch), ["domain", "path", "url", "include", "exclude", "format", "text_field", "sha256", "max_bytes"])
    }

    func testEveryParameterThePipelinesSetIsListedForItsKind() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThan(files.count, 3)
        for file in files {
            let spec = try PipelineSpec.load(path: folder.appendingPathComponent(file).path, registry: StageCatalog.registry)
            for stage in spec.stages {
                let listed = Set(StageRegistry.parameters(of: try XCTUnwrap(StageCatalog.registry.kind(named: stage.kind))).map(\.name))
                XCTAssertEqual(Set(stage.params.keys).subtracting(listed), [], "\(file) stage \(stage.name) (\(stage.kind))")
            }
        }
    }

    func testComputedDefaultsShowTheirRuleNotThePlaceholderValue() throws {
        let warmup = try XCTUnwrap(StageRegistry.parameters(of: TrainStage.self).first { $0.name == "warmup_steps" })
        XCTAssertEqual(warmup.defaultText, "min(20, steps / 10)")
        let format = try XCTUnwrap(StageRegistry.parameters(of: ImportStage.self).first { $0.name == "format" })
        XCTAssertEqual(format.defaultText, "gguf for a path ending in .gguf, else hf")
        let steps = try XCTUnwrap(StageRegistry.parameters(of: TrainStage.self).first { $0.name == "learning_rate" })
        XCTAssertNil(steps.defaultRule)
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
