import BTXModel
import BTXPipeline
@testable import BTXStages
import BTXStore
import TestSupport
import XCTest

final class TrainStageTests: XCTestCase {
    private func setUp(_ store: Store) throws -> [String: Manifest] {
        ["model": try StageFixtures.seedModel(store),
         "data.0": try StageFixtures.tokens(store, domain: "a", pattern: [1, 2, 3, 4, 5]),
         "data.1": try StageFixtures.tokens(store, domain: "b", pattern: [9, 8, 7])]
    }

    func testInitIsAPureFunctionOfConfigAndSeed() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let a = try StageFixtures.seedModel(store, seed: 1), b = try StageFixtures.seedModel(store, seed: 1)
        XCTAssertEqual(try a.canonicalData(), try b.canonicalData())
        XCTAssertNotEqual(a.tensors, try StageFixtures.seedModel(store, seed: 2).tensors)
        XCTAssertEqual(a.tensors["model.layers.1.mlp.down_proj.weight"]?.shape, [32, 64])
    }

    func testTrainingLowersTheLossAndRecordsItsHistory() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let inputs = try setUp(store)
        let ctx = StageFixtures.context(store, stage: "train[a]", params: StageFixtures.trainParams(steps: 30), inputs: inputs)
        let output = try TrainStage().run(ctx)
        let history = try ModelManifest.history(output)
        XCTAssertEqual(history.runs.map(\.stage), ["train[a]"])
        XCTAssertEqual(history.runs[0].tokens, 30 * 2 * 16)
        let curve = history.runs[0].curve
        XCTAssertEqual(curve.count, 30)
        XCTAssertLessThan(curve.last![1], curve.first![1] - 0.5, "\(curve)")
        XCTAssertGreaterThan(history.flops, 0)
        XCTAssertNotNil(ctx.metrics["tokens_per_s"])
    }

    func testResumedRunGivesBitwiseTheSameModelAsAnUninterruptedOne() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let inputs = try setUp(store)
        let params = StageFixtures.trainParams(steps: 8, checkpointEvery: 3)
        let straight = try TrainStage().run(StageFixtures.context(store, stage: "x", params: params, inputs: inputs))

        let interrupted = StageFixtures.context(store, stage: "y", params: params, inputs: inputs, cancelAtStep: 5)
        XCTAssertThrowsError(try TrainStage().run(interrupted)) { XCTAssertEqual($0 as? StageError, .cancelled) }
        XCTAssertEqual(try interrupted.loadCheckpoint()?.metadata["scalars"]?["step"], 5)
        let resumed = StageFixtures.context(store, stage: "y", params: params, inputs: inputs)
        let output = try TrainStage().run(resumed)
        XCTAssertTrue(resumed.logText.contains("resuming at step 5 of 8"), resumed.logText)
        XCTAssertEqual(output.tensors, straight.tensors)
        XCTAssertEqual(try ModelManifest.history(output).runs[0].curve, try ModelManifest.history(straight).runs[0].curve)
        XCTAssertNotNil(straight.objects[MetricsFile.objectName])
        XCTAssertEqual(output.objects[MetricsFile.objectName], straight.objects[MetricsFile.objectName],
                       "metrics.jsonl of a resumed run is the same bytes")
    }

    /// `recompute_activations` trades memory for a forward pass: the trained model is the same,
    /// and the parameter is checked like any other.
    func testRecomputedActivationsGiveTheSameModel() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let inputs = try setUp(store)
        let params = StageFixtures.trainParams(steps: 4)
        let keeping = StageFixtures.context(store, stage: "x", params: params, inputs: inputs)
        let kept = try TrainStage().run(keeping)
        let recomputing = StageFixtures.context(store, stage: "y", params: params.merging(["recompute_activations": true]) { $1 },
                                                inputs: inputs)
        let recomputed = try TrainStage().run(recomputing)
        XCTAssertEqual(recomputed.tensors, kept.tensors)
        XCTAssertTrue(recomputing.logText.contains("recomputing activations"), recomputing.logText)
        XCTAssertFalse(keeping.logText.contains("recomputing activations"))
        XCTAssertThrowsError(try TrainStage().validate(StageParams(["steps": 4, "recompute_activations": "yes"]))) {
            XCTAssertTrue("\($0)".contains("recompute_activations"), "\($0)")
        }
    }

    func testTrainingStoresItsMetricsAsJSONLines() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let inputs = try setUp(store)
        let ctx = StageFixtures.context(store, stage: "t", params: StageFixtures.trainParams(steps: 6), inputs: inputs)
        let output = try TrainStage().run(ctx)
        let object = try XCTUnwrap(output.objects[MetricsFile.objectName])
        XCTAssertEqual(try ModelManifest.history(output).runs[0].metrics, object)
        let rows = try MetricsFile.decode(store.object(object))
        XCTAssertEqual(rows.map { $0["step"]?.intValue }, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(Set(rows[0].keys), ["step", "tokens", "flops", "loss", "lr", "grad_norm", "aux_loss"])
        XCTAssertEqual(rows.last?["tokens"]?.intValue, 6 * 2 * 16)
        let curve = try ModelManifest.history(output).runs[0].curve
        XCTAssertEqual(rows.compactMap { $0["loss"]?.doubleValue }, curve.map { $0[1] })
        XCTAssertEqual(ctx.metrics["timing"]?.arrayValue?.count, 6, "wall-clock columns go to the run record")
    }

    func testMetricsRowsStayFewOnLongRunsAndKeepTheLastStep() {
        let kept = (1...1001).filter { MetricsFile.keeps(step: $0, of: 1001) }
        XCTAssertLessThanOrEqual(kept.count, MetricsFile.maxRows + 1)
        XCTAssertEqual(kept.last, 1001)
        XCTAssertEqual((1...7).filter { MetricsFile.keeps(step: $0, of: 7) }, Array(1...7))
        XCTAssertThrowsError(try MetricsFile.decode(Data("{\"step\":1}\nnot json\n".utf8))) {
            XCTAssertTrue("\($0)".contains("line 2"), "\($0)")
        }
    }

    func testADamagedCheckpointTensorIsIgnoredAndTheRunStartsOverInsteadOfFailing() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url, report: { _ in })
        let inputs = try setUp(store)
        let params = StageFixtures.trainParams(steps: 6, checkpointEvery: 2)
        let straight = try TrainStage().run(StageFixtures.context(store, stage: "x", params: params, inputs: inputs))
        let interrupted = StageFixtures.context(store, stage: "y", params: params, inputs: inputs, cancelAtStep: 4)
        XCTAssertThrowsError(try TrainStage().run(interrupted))
        let checkpoint = try XCTUnwrap(try interrupted.loadCheckpoint())
        // Damage one tensor that only the checkpoint holds (the optimizer state differs from the model's).
        let (name, entry) = try XCTUnwrap(checkpoint.tensors.sorted { $0.key < $1.key }.first { $0.key.contains("adam") || $0.key.contains("m.") } ?? checkpoint.tensors.first)
        let path = dir.url.path + "/objects/v1/\(entry.object.hex.prefix(2))/\(entry.object.hex)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 5] ^= 0x21
        try bytes.write(to: URL(fileURLWithPath: path))
        let resumed = StageFixtures.context(store, stage: "y", params: params, inputs: inputs)
        let output = try TrainStage().run(resumed)
        XCTAssert(resumed.logText.contains("checkpoint tensor \(name) unreadable") || resumed.logText.contains("starting from scratch"), resumed.logText)
        XCTAssertEqual(output.tensors, straight.tensors, "starting over gives the uninterrupted result")
    }

    func testBadParametersNameTheField() {
        XCTAssertThrowsError(try TrainStage().validate(StageParams(["steps": 0]))) {
            XCTAssertEqual("\($0)", "parameter 'steps': expected an integer in 1...10000000, got 0")
        }
        XCTAssertThrowsError(try InitStage().validate(StageParams(["config": ["hidden_size": 30]]))) {
            XCTAssertTrue("\($0)".hasPrefix("parameter 'config': expected a Llama config"), "\($0)")
        }
    }

    func testTrainRejectsANonModelInput() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var inputs = try setUp(store)
        inputs["model"] = inputs["data.0"]
        XCTAssertThrowsError(try TrainStage().run(StageFixtures.context(store, params: StageFixtures.trainParams(), inputs: inputs))) {
            XCTAssertEqual("\($0)", "input 'model' is a 'tokens' manifest, expected a model")
        }
    }

    /// A compute-matched stage declares `steps: 1` as a placeholder: the warmup it asks for must follow the
    /// matched step count, not be cut to the placeholder's single step (dense and upcycling ran their
    /// whole schedule with 1 warmup step where BTX had 10).
    func testMatchedStepsKeepTheWarmupTheSpecAsksFor() throws {
        let p = StageParams(["steps": 1, "warmup_steps": 10])
        XCTAssertEqual(try TrainingLoop.hyperparameters(p).warmupSteps, 1, "a 1-step run warms up for at most 1 step")
        XCTAssertEqual(try TrainingLoop.warmupSteps(p, steps: 539), 10)
        XCTAssertEqual(try TrainingLoop.warmupSteps(StageParams(["steps": 1]), steps: 539), 20, "default min(20, steps / 10)")
        XCTAssertEqual(try TrainingLoop.warmupSteps(StageParams(["steps": 1]), steps: 50), 5)
    }
}
