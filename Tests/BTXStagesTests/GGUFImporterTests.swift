import BTXModel
import BTXPipeline
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// GGUF import of the tiny llama.cpp-layout models of Tests/Fixtures/gguf: the imported model computes
/// the logits transformers computes from the same file, and its tokenizer.json gives the ids
/// transformers' GGUF tokenizer gives; what btxpipe cannot import is refused by name.
final class GGUFImporterTests: XCTestCase {
    private func expected(_ model: String) throws -> [String: Any] {
        try XCTUnwrap(try GGUFFixtures.json("tiny.expected.json")[model] as? [String: Any])
    }

    private func assertLogitsMatch(_ manifest: Manifest, store: Store, expected: [String: Any], tolerance: Float,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let tokens = try XCTUnwrap(expected["tokens"] as? [[Int]]).map { $0.map(Int32.init) }
        let logits = try ModelWeights(manifest, store: store).logits(tokens)
        let golden = try GGUFFixtures.floats(expected["logits"])
        XCTAssertEqual(logits.count, golden.count, file: file, line: line)
        let error = zip(logits, golden).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(error, tolerance, "max |Δ logit| vs transformers", file: file, line: line)
        print("GGUF import vs transformers: max |Δ logit| = \(error)")
    }

    func testDenseGGUFComputesTheLogitsTransformersComputesFromTheSameFile() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var lines: [String] = []
        let manifest = try GGUFImporter.importModel(GGUFFixtures.url("tiny-dense.gguf"), into: store) { lines.append($0) }
        let architecture = try ModelArchitecture(manifest)
        XCTAssertEqual(architecture.summary, "LlamaForCausalLM L=2 C=64 H=4/2 I=128 V=320")
        XCTAssertEqual(architecture.llama.rmsNormEps, 1e-5)
        XCTAssertEqual(manifest.metadata["bos_token_id"], 1)
        XCTAssertTrue(manifest.tensors.values.allSatisfy { $0.dtype == .f32 })
        XCTAssertTrue(lines.last?.contains("q4_0") == true, "\(lines)")
        try assertLogitsMatch(manifest, store: store, expected: try expected("tiny-dense"), tolerance: 1e-4)
        // Deterministic: a second import gives the same manifest.
        XCTAssertEqual(try GGUFImporter.importModel(GGUFFixtures.url("tiny-dense.gguf"), into: store), manifest)
    }

    func testMoEGGUFUnstacksExpertsAndComputesTheLogitsOfMixtralOnItsWeights() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let manifest = try GGUFImporter.importModel(GGUFFixtures.url("tiny-moe.gguf"), into: store)
        let architecture = try ModelArchitecture(manifest)
        XCTAssertEqual(architecture.moe?.numLocalExperts, 4)
        XCTAssertEqual(architecture.moe?.numExpertsPerTok, 2)
        XCTAssertTrue(architecture.llama.tieWordEmbeddings)
        XCTAssertEqual(manifest.tensors["model.layers.1.block_sparse_moe.experts.3.w2.weight"]?.shape, [64, 64])
        XCTAssertNil(manifest.tensors["lm_head.weight"])
        try assertLogitsMatch(manifest, store: store, expected: try expected("tiny-moe"), tolerance: 1e-4)
    }

    func testTokenizerJSONEncodesAsTransformersGGUFTokenizer() throws {
        let python = try ReferencePython.python(importing: ["tokenizers"])
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let manifest = try GGUFImporter.importModel(GGUFFixtures.url("tiny-dense.gguf"), into: store)
        let config = try JSONValue.parse(try store.object(try XCTUnwrap(manifest.objects["tokenizer_config.json"])))
        XCTAssertEqual(config["bos_token"]?.stringValue, "<|im_start|>")
        XCTAssertEqual(config["add_bos_token"]?.boolValue, true)
        XCTAssertNotNil(config["chat_template"]?.stringValue)
        let want = try expected("tiny-dense")
        let ids = try GGUFImporterTests.encode(manifest, store: store, texts: try XCTUnwrap(want["texts"] as? [String]), python: python, in: dir)
        XCTAssertEqual(ids, try XCTUnwrap(want["ids"] as? [[Int]]))
    }

    /// The ids Python `tokenizers` gives `texts` with the manifest's tokenizer.json.
    static func encode(_ manifest: Manifest, store: Store, texts: [String], python: URL, in dir: TemporaryDirectory) throws -> [[Int]] {
        try store.object(try XCTUnwrap(manifest.objects["tokenizer.json"])).write(to: URL(fileURLWithPath: dir.path("tokenizer.json")))
        try JSONEncoder().encode(texts).write(to: URL(fileURLWithPath: dir.path("texts.json")))
        let script = GGUFFixtures.url("make_fixtures.py").path
        let result = try runProcess(python, [script, "encode", dir.path("tokenizer.json"), dir.path("texts.json")])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try JSONDecoder().decode([[Int]].self, from: Data(result.stdout.utf8))
    }

    /// The importer's error for an edited copy of tiny-dense.gguf, checked to be one line naming the file.
    private func importError(_ edit: (inout [UInt8]) throws -> Void) throws -> String {
        let dir = try TemporaryDirectory()
        let path = try GGUFFixtures.edited("tiny-dense.gguf", in: dir, edit)
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        do {
            _ = try GGUFImporter.importModel(URL(fileURLWithPath: path), into: store)
        } catch let error as GGUFError {
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": ") && !text.contains("\n"), text)
            return text
        }
        XCTFail("imported an unsupported file")
        return ""
    }

    private func replace(_ old: String, with new: String, in bytes: inout [UInt8]) throws {
        precondition(old.utf8.count == new.utf8.count)
        let at = try GGUFFixtures.offset(of: old, in: bytes)
        bytes.replaceSubrange(at..<at + old.utf8.count, with: Array(new.utf8))
    }

    func testRefusesOtherArchitecturesTypesTokenizersAndTensorsByName() throws {
        XCTAssertTrue(try importError { try replace("general.architecture\u{8}\0\0\0\u{5}\0\0\0\0\0\0\0llama", with: "general.architecture\u{8}\0\0\0\u{5}\0\0\0\0\0\0\0qwen2", in: &$0) }
            .contains("general.architecture: unsupported: architecture \"qwen2\""))
        XCTAssertTrue(try importError { bytes in
            let at = try GGUFFixtures.offset(of: "blk.0.attn_q.weight", in: bytes) + 19 + 4 + 16
            bytes[at] = UInt8(GGMLType.q5_0.rawValue)
        }.contains("tensor blk.0.attn_q.weight: unsupported: ggml type q5_0"))
        XCTAssertTrue(try importError { try replace("\u{4}\0\0\0\0\0\0\0gpt2", with: "\u{4}\0\0\0\0\0\0\0bert", in: &$0) }
            .contains("tokenizer.ggml.model: unsupported: tokenizer model \"bert\""))
        XCTAssertTrue(try importError { try replace("\u{5}\0\0\0\0\0\0\0gpt-2", with: "\u{5}\0\0\0\0\0\0\0qwen2", in: &$0) }
            .contains("tokenizer.ggml.pre: unsupported: pre-tokenizer \"qwen2\""))
        XCTAssertTrue(try importError { try replace("blk.1.ffn_up.weight", with: "blk.1.ffn_up.bias__", in: &$0) }
            .contains("tensor blk.1.ffn_up.bias__: unsupported"))
        XCTAssertTrue(try importError { try replace("llama.block_count", with: "llama.block_c0unt", in: &$0) }
            .contains("metadata llama.block_count: missing"))
    }

    func testImportStageTakesAGGUFPathAndFingerprintsTheFile() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let params: [String: JSONValue] = ["path": .string(GGUFFixtures.url("tiny-moe.gguf").path)]
        try ImportStage().validate(StageParams(params))
        let context = StageContext(store: store, stage: "import", key: .of(JSONValue.object(params).canonicalText), params: StageParams(params))
        XCTAssertEqual(try ImportStage().run(context), try GGUFImporter.importModel(GGUFFixtures.url("tiny-moe.gguf"), into: store))
        XCTAssertNotNil(try ImportStage.sourceFingerprint(StageParams(params), store: store))
        XCTAssertThrowsError(try ImportStage().validate(StageParams(["path": "x", "format": "onnx"]))) {
            XCTAssertTrue("\($0)".hasPrefix("parameter 'format'"), "\($0)")
        }
    }

    func testLlamaRoPEPermutationIsNumpysReshapeSwapaxesAndItsInverse() {
        // numpy: w.reshape(2, 2, 2, cols).swapaxes(1, 2).reshape(8, cols) takes rows 0 2 1 3 4 6 5 7.
        XCTAssertEqual(LlamaRoPEPermutation.ggufRowSources(rows: 8, heads: 2), [0, 2, 1, 3, 4, 6, 5, 7])
        XCTAssertEqual(LlamaRoPEPermutation.ggufRowSources(rows: 8, heads: 1), [0, 4, 1, 5, 2, 6, 3, 7])
        let hf = (0..<(24 * 3)).map(Float.init)
        let gguf = LlamaRoPEPermutation.toGGUF(hf, rows: 24, cols: 3, heads: 3)
        XCTAssertEqual(Array(gguf[3..<6]), [12, 13, 14], "GGUF row 1 is HF row 4 (head 0, pair 1, i 0)")
        XCTAssertEqual(LlamaRoPEPermutation.toHF(gguf, rows: 24, cols: 3, heads: 3), hf)
    }
}
