import BTXData
import BTXModel
import BTXPipeline
@testable import BTXStages
import BTXStore
import TestSupport
import XCTest

final class EvaluateStageTests: XCTestCase {
    private func data(_ store: Store) throws -> [String: Manifest] {
        ["data.0": try StageFixtures.tokens(store, domain: "a", pattern: [1, 2, 3, 4, 5]),
         "data.1": try StageFixtures.tokens(store, domain: "b", pattern: [9, 8, 7])]
    }

    private let params: [String: JSONValue] = ["name": "m", "batch_size": 2, "sequence_length": 16, "max_batches": 3]

    func testEvaluationGivesFiniteLossesPerDomainAndTheModelsCompute() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var inputs = try data(store)
        inputs["model"] = try StageFixtures.seedModel(store)
        let output = try EvaluateStage().run(StageFixtures.context(store, params: params, inputs: inputs))
        XCTAssertEqual(output.kind, "evaluation")
        let a = try XCTUnwrap(output.metadata["domains"]?["a"]?["loss"]?.doubleValue)
        XCTAssertTrue(a.isFinite && a > 0)
        // An untrained model is close to uniform over the 64 tokens.
        XCTAssertEqual(a, log(64), accuracy: 0.3)
        XCTAssertEqual(output.metadata["domain_order"], ["a", "b"])
        XCTAssertEqual(output.metadata["compute"]?["flops"]?.doubleValue, 0)
    }

    func testHeldOutLossEqualsTheModelsOwnMeanCrossEntropy() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let manifest = try StageFixtures.seedModel(store)
        let model = try ModelLoader.inference(manifest, input: "model", store: store, batchSize: 2, sequenceLength: 16, threads: 1)
        let tokens = (0..<200).map { UInt32($0 * 7 % 64) }
        let loss = try EvaluateStage.heldOutLoss(model, tokens, domain: 0, maxBatches: 1)
        let single = try XCTUnwrap(model as? SingleModel)
        let batch = (0..<2).flatMap { b in (0...16).map { Int32(tokens[b * 16 + $0]) } }
        let reference = try batch.withUnsafeBufferPointer { try single.model.forward(sequences: $0) }
        XCTAssertEqual(loss, Double(reference), accuracy: 1e-5)
    }

    func testEnsembleOfIdenticalExpertsEqualsOneExpert() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var inputs = try data(store)
        let model = try StageFixtures.seedModel(store)
        inputs["model"] = model
        let single = try EvaluateStage().run(StageFixtures.context(store, params: params, inputs: inputs))
        inputs["model"] = nil
        inputs["experts.0"] = model
        inputs["experts.1"] = model
        let ensemble = try EvaluateStage().run(StageFixtures.context(store, params: params, inputs: inputs))
        for d in ["a", "b"] {
            let x = try XCTUnwrap(single.metadata["domains"]?[d]?["loss"]?.doubleValue)
            let y = try XCTUnwrap(ensemble.metadata["domains"]?[d]?["loss"]?.doubleValue)
            XCTAssertEqual(x, y, accuracy: 1e-5)
        }
    }

    func testEnsembleWeightsArePosteriorsOverTheTopExperts() {
        var w = [Double](repeating: 0, count: 3)
        EnsembleModel.weights([log(0.2), log(0.6), log(0.2)], topK: 3, into: &w)
        XCTAssertEqual(w[1], 0.6, accuracy: 1e-12)
        EnsembleModel.weights([log(0.1), log(0.6), log(0.3)], topK: 2, into: &w)
        XCTAssertEqual(w, [0, 2.0 / 3, 1.0 / 3].map { $0 }, accuracy: 1e-12)
    }

    func testMathAccuracyNeedsAnAnswerLineToStop() throws {
        let tokenizer = try BTXData.BPETokenizer(merges: [])
        let ids = { (s: String) in Array(s.utf8).map { Int32($0) } }
        XCTAssertFalse(MathAccuracy.answerLineEnded(tokenizer, ids("Work: 2+2\nAnswer: 4")))
        XCTAssertTrue(MathAccuracy.answerLineEnded(tokenizer, ids("Work: 2+2\nAnswer: 4\n")))
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
