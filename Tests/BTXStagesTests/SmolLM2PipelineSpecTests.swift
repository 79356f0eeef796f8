import BTXPipeline
@testable import BTXStages
import BTXStore
import XCTest

/// `pipelines/smollm2.yaml` (BTX from the imported SmolLM2 seed) read as the command line reads it:
/// every stage validates, the seed's tokenizer drives tokenize and evaluation, the baselines are
/// compute-matched to BTX, and its corpora are btx.yaml's own stages (same keys: cached across both).
/// Tests/btxpipeTests/SmolLM2PipelineTests runs it end to end on the real GGUF.
final class SmolLM2PipelineSpecTests: XCTestCase {
    /// The checked-in pipelines folder (this file is Tests/BTXStagesTests/…).
    private let pipelines = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("pipelines")

    private func load(_ name: String) throws -> PipelineSpec {
        try PipelineSpec.load(path: pipelines.appendingPathComponent(name).path, registry: StageCatalog.registry)
    }

    private func inputs(_ stage: StageInstance?) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: (stage?.inputs ?? []).map { ($0.name, $0.stages) })
    }

    func testSmolLM2PipelineImportsTheGGUFSeedAndEveryStageOfBTXValidates() throws {
        let spec = try load("smollm2.yaml")
        XCTAssertEqual(spec.stage("seed")?.kind, "import")
        let path = try XCTUnwrap(spec.stage("seed")?.params["path"]?.stringValue)
        XCTAssertTrue(path.hasSuffix("SmolLM2-135M-Instruct.Q4_1.gguf"), path)
        XCTAssertEqual(try ImportStage.format(StageParams(spec.stage("seed")!.params)), "gguf")
        XCTAssertEqual(Set(spec.stages.map(\.kind)),
                       ["import", "fetch", "math-problems", "tokenize", "train", "mix", "finetune", "upcycle", "evaluate", "report"])
        for domain in ["code", "knowledge", "math"] {
            XCTAssertEqual(inputs(spec.stage("tokens[\(domain)]"))["tokenizer"], ["seed"], "tokenized with the seed's own tokenizer")
            XCTAssertEqual(inputs(spec.stage("expert[\(domain)]"))["model"], ["seed"])
        }
        XCTAssertEqual(inputs(spec.stage("mix"))["seed"], ["seed"], "the seed is the MoE's 4th expert")
        XCTAssertEqual(inputs(spec.stage("dense"))["match"], ["btx"])
        XCTAssertEqual(inputs(spec.stage("upcycled"))["match"], ["btx"])
        let evaluations = spec.stages.filter { $0.kind == "evaluate" }
        XCTAssertEqual(evaluations.count, 8, "seed, 3 experts, dense, upcycling, BTX, BTM")
        for stage in evaluations { XCTAssertEqual(inputs(stage)["tokenizer"], ["seed"], stage.name) }
        XCTAssertEqual(inputs(spec.stage("report"))["results"]?.count, 8)
    }

    func testSmolLM2PipelineSharesFetchAndMathStagesWithBTXPipeline() throws {
        let smol = try load("smollm2.yaml"), btx = try load("btx.yaml")
        XCTAssertEqual(smol.store, btx.store, "one store, so btx.yaml's corpora are cached for smollm2.yaml")
        for name in ["fetch[code]", "fetch[knowledge]", "math"] {
            let a = try XCTUnwrap(smol.stage(name)), b = try XCTUnwrap(btx.stage(name))
            XCTAssertEqual(a.kind, b.kind, name)
            XCTAssertEqual(a.params, b.params, "\(name): same parameters, so the same cache key")
            XCTAssertTrue(a.inputs.isEmpty && b.inputs.isEmpty, name)
        }
    }

    /// The MoE stages hold ~6 GB of weights, gradients and AdamW moments; a checkpoint copies the whole
    /// training state (`Trainer.exportState`) before storing it, so they checkpoint only on Ctrl-C.
    func testSmolLM2MoEFinetunesDoNotCheckpointMidRun() throws {
        let spec = try load("smollm2.yaml")
        for name in ["btx", "upcycled"] {
            XCTAssertEqual(spec.stage(name)?.params["checkpoint_every"], 0, name)
        }
    }
}
