import BTXData
import BTXModel
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

final class HFExporterTests: XCTestCase {
    func testExportOfAnImportIsByteIdenticalInItsTensors() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        for name in HFFixtures.names {
            let imported = try HFImporter.importModel(HFFixtures.directory(name), into: store)
            let out = dir.url.appendingPathComponent("export-\(name)")
            try HFExporter().export(imported, from: store, to: out)
            let reimported = try HFImporter.importModel(out, into: store)
            XCTAssertEqual(reimported.tensors, imported.tensors, name)
            XCTAssertEqual(try ModelArchitecture(reimported), try ModelArchitecture(imported), name)
        }
    }

    func testBF16ToF32AndBackGivesTheOriginalTensors() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let imported = try HFImporter.importModel(HFFixtures.directory("llama-untied"), into: store)
        try HFExporter(dtype: .f32).export(imported, from: store, to: dir.url.appendingPathComponent("f32"))
        let wide = try HFImporter.importModel(dir.url.appendingPathComponent("f32"), into: store)
        XCTAssertEqual(Set(wide.tensors.values.map(\.dtype)), [.f32])
        try HFExporter(dtype: .bf16).export(wide, from: store, to: dir.url.appendingPathComponent("bf16"))
        XCTAssertEqual(try HFImporter.importModel(dir.url.appendingPathComponent("bf16"), into: store).tensors, imported.tensors)
    }

    func testAboveTheShardSizeTheExportIsShardedWithAnIndex() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let imported = try HFImporter.importModel(HFFixtures.directory("mixtral"), into: store)
        let out = dir.url.appendingPathComponent("sharded")
        let files = try HFExporter(shardBytes: 40_000).export(imported, from: store, to: out)
        XCTAssertTrue(files.contains("model.safetensors.index.json"))
        XCTAssertFalse(files.contains("model.safetensors"))
        XCTAssertGreaterThan(files.filter { $0.hasPrefix("model-000") }.count, 2)
        XCTAssertEqual(try HFImporter.importModel(out, into: store).tensors, imported.tensors)
        XCTAssertThrowsError(try HFExporter().export(imported, from: store, to: out)) {
            XCTAssertTrue("\($0)".contains("exists and is not an empty directory"), "\($0)")
        }
    }

    func testConfigSaysMixtralForAnMoEAndLlamaForADenseModel() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let (dense, moe) = try HFTestModels.btx("llama-tied", experts: 3, perturbation: 0.01, store: store)
        for (manifest, name, architecture) in [(dense, "d", "LlamaForCausalLM"), (moe, "m", "MixtralForCausalLM")] {
            let out = dir.url.appendingPathComponent(name)
            try HFExporter().export(manifest, from: store, to: out)
            let config = try JSONValue.parse(Data(contentsOf: out.appendingPathComponent("config.json")))
            XCTAssertEqual(config["architectures"], [.string(architecture)])
            XCTAssertEqual(config["tie_word_embeddings"], true)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("generation_config.json").path))
        }
        let config = try JSONValue.parse(Data(contentsOf: dir.url.appendingPathComponent("m/config.json")))
        XCTAssertEqual(config["num_local_experts"], 4)
        XCTAssertEqual(config["num_experts_per_tok"], 2)
        XCTAssertEqual(config["router_aux_loss_coef"], 0.01)
    }

    func testRoutingMixtralCannotExpressIsRefusedOrExportedWithAWarning() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let switchMoE = try HFTestModels.btx("llama-tied", experts: 1, perturbation: 0.01, routing: "switch", k: 1, store: store).moe
        XCTAssertThrowsError(try HFExporter().export(switchMoE, from: store, to: dir.url.appendingPathComponent("a"))) {
            XCTAssertTrue("\($0)".contains("unsupported: Switch top-1 becomes Mixtral top-1: no capacity limit"), "\($0)")
        }
        var warnings: [String] = []
        try HFExporter(allowRoutingChange: true).export(switchMoE, from: store, to: dir.url.appendingPathComponent("b")) { warnings.append($0) }
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("no longer scaled by its router probability"), warnings[0])
        let soft = try HFTestModels.btx("llama-tied", experts: 2, perturbation: 0.01, routing: "soft", k: 1, store: store).moe
        try HFExporter().export(soft, from: store, to: dir.url.appendingPathComponent("c")) { XCTFail("soft is exact, yet: \($0)") }
        let config = try JSONValue.parse(Data(contentsOf: dir.url.appendingPathComponent("c/config.json")))
        XCTAssertEqual(config["num_experts_per_tok"], 3)
    }

    func testTokenizerTravelsWithTheModelAndSetsTheSpecialIds() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var trainer = BPETrainer()
        trainer.add(Data("the cat sat on the mat; the cat ate the rat".utf8))
        let tokenizer = try trainer.train(vocabSize: 264)
        let source = try HFFixtures.copy("llama-tied", to: dir) { $0["vocab_size"] = 264 }
        var raw = try store.importSafetensors(source.appendingPathComponent("model.safetensors"))
        raw.tensors["model.embed_tokens.weight"] = try store.putTensor([Float](repeating: 0.01, count: 264 * 32), shape: [264, 32])
        try FileManager.default.removeItem(at: source.appendingPathComponent("model.safetensors"))
        try store.exportSafetensors(raw, to: source.appendingPathComponent("model.safetensors"))
        try tokenizer.huggingFaceJSON().write(to: source.appendingPathComponent("tokenizer.json"))
        let imported = try HFImporter.importModel(source, into: store)
        XCTAssertNotNil(imported.objects["tokenizer.json"])
        let out = dir.url.appendingPathComponent("out")
        try HFExporter().export(imported, from: store, to: out)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("tokenizer.json")), tokenizer.huggingFaceJSON())
        let config = try JSONValue.parse(Data(contentsOf: out.appendingPathComponent("config.json")))
        XCTAssertEqual(config["eos_token_id"]?.intValue, Int(tokenizer.eos))
        let session = try GenerationSession(imported, store: store)
        XCTAssertEqual(try session.encode("the cat").count, BPEEncoder(tokenizer).encode(Data("the cat".utf8)).count)
    }
}
