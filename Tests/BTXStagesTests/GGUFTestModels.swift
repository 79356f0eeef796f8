import BTXData
import BTXModel
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// Tiny models that carry btxpipe's own BPE tokenizer, for the GGUF export tests, and the reference
/// script `Tests/Fixtures/gguf/gguf_reference.py` (gguf-py, llama.cpp's converter, llama-cpp-python).
enum GGUFTestModels {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf/gguf_reference.py")
    /// llama.cpp's sources from the llama-cpp-python sdist that `make llama-cpp` unpacks.
    static let llamaCppSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/llama-cpp-sdist/llama_cpp_python-0.3.36/vendor/llama.cpp")

    static let text = """
        The quick brown fox jumps over the lazy dog. A model of experts routes each token to the experts \
        that know its domain best; the router learns which one. Numbers 12 345 and 6789, code `let x = 1`.
        """

    /// btxpipe's BPE trained on `text` to 300 ids (256 bytes, 42 merges, BOS, EOS).
    static func tokenizer() throws -> BPETokenizer {
        var trainer = BPETrainer()
        for _ in 0..<4 { trainer.add(Data(text.utf8)) }
        return try trainer.train(vocabSize: 300)
    }

    /// A dense Llama (2 layers, C 32, GQA 4/2, I 64) with weights of std `std` (large, so greedy
    /// decoding has no near-ties) carrying `tokenizer` as `tokenizer.json`.
    static func dense(_ store: Store, tokenizer: BPETokenizer, std: Double = 0.5, tied: Bool = false) throws -> Manifest {
        let config: JSONValue = ["hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                                 "num_key_value_heads": 2, "vocab_size": .int(Int64(tokenizer.vocabSize)),
                                 "max_position_embeddings": 64, "tie_word_embeddings": .bool(tied)]
        var model = try InitStage().run(StageFixtures.context(store, params: ["config": config, "seed": 3, "init_std": .double(std)]))
        model.objects["tokenizer.json"] = try store.putObject(tokenizer.huggingFaceJSON())
        return model
    }

    /// A BTX MoE of 3 perturbed experts + the seed from `dense` (top-2), carrying its tokenizer.
    static func moe(_ store: Store, dense: Manifest, routing: String = "top_k") throws -> Manifest {
        var moe = try HFTestModels.mix(try HFTestModels.experts(dense, count: 3, perturbation: 0.3, store: store),
                                       seed: dense, routing: routing, store: store)
        moe.objects["tokenizer.json"] = dense.objects["tokenizer.json"]
        return moe
    }

    /// Runs the reference script in `mode`; fails the test (or skips outside `make test`) when the
    /// reference stack is missing.
    static func reference(_ mode: String, _ arguments: [String], modules: [String] = ["gguf", "numpy"]) throws -> String {
        let python = try ReferencePython.python(importing: modules)
        let result = try runProcess(python, [script.path, mode] + arguments)
        guard result.status == 0 else {
            throw ReferenceFailure(why: "gguf_reference.py \(mode) failed:\n\(result.stderr.suffix(3000))")
        }
        return result.stdout
    }

    /// The llama.cpp checkout in the sdist; a missing one fails under `make test` (it builds it).
    static func llamaCpp() throws -> URL {
        guard FileManager.default.fileExists(atPath: llamaCppSource.appendingPathComponent("convert_hf_to_gguf.py").path) else {
            let why = "\(llamaCppSource.path) missing: run `make llama-cpp` (unpacks the llama-cpp-python sdist)"
            if ReferencePython.required { throw ReferenceFailure(why: "reference check cannot run: \(why)") }
            throw XCTSkip("SKIPPED (llama.cpp sources missing): \(why)")
        }
        return llamaCppSource
    }

    /// `gguf_reference.py dump` parsed.
    static func dump(_ file: URL) throws -> JSONValue {
        try JSONValue.parse(Data(try reference("dump", [file.path]).utf8))
    }

    /// Every tensor of `file` dequantized by gguf-py, by GGUF name.
    static func dequantized(_ file: URL, in dir: TemporaryDirectory) throws -> [String: [Float]] {
        let out = dir.url.appendingPathComponent("deq-" + file.lastPathComponent)
        _ = try reference("dequantize", [file.path, out.path])
        var tensors: [String: [Float]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: out.path) where name.hasSuffix(".f32") {
            let data = try Data(contentsOf: out.appendingPathComponent(name))
            tensors[String(name.dropLast(4))] = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return tensors
    }
}

/// A reference script that ran and failed.
struct ReferenceFailure: Error, CustomStringConvertible {
    let why: String
    var description: String { why }
}
