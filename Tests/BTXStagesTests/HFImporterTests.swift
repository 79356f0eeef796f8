import BTXModel
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

final class HFImporterTests: XCTestCase {
    func testEveryFixtureImportsAndItsLogitsMatchTransformersWithin1e4() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        for name in HFFixtures.names {
            let manifest = try HFImporter.importModel(HFFixtures.directory(name), into: store)
            let logits = try ModelWeights(manifest, store: store).logits(try HFFixtures.tokens(name))
            let error = HFFixtures.maxError(logits, try HFFixtures.logits(name))
            XCTAssertLessThanOrEqual(error, 1e-4, "\(name): max abs logit error \(error)")
            print("\(name): max abs logit error vs transformers \(error)")
        }
    }

    func testImportKeepsTheCheckpointDTypesAndDescribesTheArchitecture() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let untied = try HFImporter.importModel(HFFixtures.directory("llama-untied"), into: store)
        XCTAssertEqual(Set(untied.tensors.values.map(\.dtype)), [.bf16])
        XCTAssertNotNil(untied.tensors["lm_head.weight"])
        let tied = try HFImporter.importModel(HFFixtures.directory("llama-tied"), into: store)
        XCTAssertNil(tied.tensors["lm_head.weight"])
        XCTAssertEqual(try ModelArchitecture(tied).llama.numKeyValueHeads, 1)
        let mixtral = try HFImporter.importModel(HFFixtures.directory("mixtral"), into: store)
        XCTAssertEqual(try ModelArchitecture(mixtral).moe, try MoEConfig(numLocalExperts: 4, numExpertsPerTok: 2, routerAuxLossCoef: 0.01))
        XCTAssertEqual(mixtral.tensors[MoEParameters.expert(1, 3, "w2")]?.shape, [32, 48])
    }

    func testImportingTheSameDirectoryTwiceGivesTheSameManifest() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let a = try HFImporter.importModel(HFFixtures.directory("mixtral"), into: store)
        let b = try HFImporter.importModel(HFFixtures.directory("mixtral"), into: store)
        XCTAssertEqual(try store.putManifest(a), try store.putManifest(b))
    }

    func testUnsupportedConfigFeaturesAreRefusedByName() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let cases: [(String, (inout [String: JSONValue]) -> Void)] = [
            ("attention_bias true", { $0["attention_bias"] = true }),
            ("mlp_bias true", { $0["mlp_bias"] = true }),
            ("rope_scaling type \"linear\"", { $0["rope_scaling"] = ["type": "linear", "factor": 2.0] }),
            ("rope_parameters type \"llama3\"", { $0["rope_parameters"] = ["rope_type": "llama3", "rope_theta": 10000.0] }),
            ("architectures [\"GPT2LMHeadModel\"]", { $0["architectures"] = ["GPT2LMHeadModel"] }),
            ("hidden_act \"gelu\"", { $0["hidden_act"] = "gelu" }),
            ("head_dim 16", { $0["head_dim"] = 16 }),
        ]
        for (i, (feature, edit)) in cases.enumerated() {
            let sub = try TemporaryDirectory()
            let path = try HFFixtures.copy("llama-tied", to: sub, edit: edit)
            XCTAssertThrowsError(try HFImporter.importModel(path, into: store), "case \(i)") {
                XCTAssertTrue("\($0)".contains("unsupported: \(feature)"), "\($0)")
            }
        }
    }

    func testBiasTensorsAndMissingTensorsAreNamed() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let original = try store.importSafetensors(HFFixtures.directory("llama-tied").appendingPathComponent("model.safetensors"))
        var withBias = original
        withBias.tensors["model.layers.0.self_attn.q_proj.bias"] = try store.putTensor([Float](repeating: 0, count: 32), shape: [32])
        var missing = original
        missing.tensors["model.layers.1.mlp.up_proj.weight"] = nil
        for (manifest, expected) in [(withBias, "unsupported: bias tensor model.layers.0.self_attn.q_proj.bias"),
                                     (missing, "missing model.layers.1.mlp.up_proj.weight (shape [64, 32])")] {
            let sub = try TemporaryDirectory()
            let path = try HFFixtures.copy("llama-tied", to: sub)
            try FileManager.default.removeItem(at: path.appendingPathComponent("model.safetensors"))
            try store.exportSafetensors(manifest, to: path.appendingPathComponent("model.safetensors"))
            XCTAssertThrowsError(try HFImporter.importModel(path, into: store)) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
    }

    func testMissingWeightsAndBrokenConfigGiveOneLineErrors() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let empty = try TemporaryDirectory()
        XCTAssertThrowsError(try HFImporter.importModel(empty.url, into: store)) { XCTAssertTrue("\($0)".contains("config.json: not found"), "\($0)") }
        let noHidden = try HFFixtures.copy("llama-tied", to: empty) { $0["hidden_size"] = nil }
        XCTAssertThrowsError(try HFImporter.importModel(noHidden, into: store)) {
            XCTAssertTrue("\($0)".hasSuffix("config.json: hidden_size: expected a value (the key is missing)"), "\($0)")
        }
        try FileManager.default.removeItem(at: noHidden.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: HFFixtures.directory("llama-tied").appendingPathComponent("config.json"),
                                         to: noHidden.appendingPathComponent("c.json"))
        try FileManager.default.removeItem(at: noHidden.appendingPathComponent("config.json"))
        try FileManager.default.moveItem(at: noHidden.appendingPathComponent("c.json"), to: noHidden.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try HFImporter.importModel(noHidden, into: store)) {
            XCTAssertTrue("\($0)".contains("expected model.safetensors or model.safetensors.index.json"), "\($0)")
        }
    }

    func testAnMoEOfIdenticalExpertsComputesTheDenseModel() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let (dense, moe) = try HFTestModels.btx("llama-tied", experts: 3, perturbation: 0, store: store)
        let tokens = try HFFixtures.tokens("llama-tied")
        let error = HFFixtures.maxError(try ModelWeights(moe, store: store).logits(tokens), try ModelWeights(dense, store: store).logits(tokens))
        XCTAssertLessThanOrEqual(error, 1e-5)
    }
}
