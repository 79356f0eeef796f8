import Foundation
import TestSupport
import XCTest

/// `pipelines/smollm2.yaml` end to end through the real binary on the real SmolLM2-135M GGUF
/// (`BTXPIPE_SMOLLM2_GGUF`, set by `make test`), shrunk by a spec that `extends:` it to a step per
/// training stage and a few hundred tokens per evaluation: the GQA, tied, 49k-vocabulary seed flows
/// through tokenize, experts, mix, finetune, baselines, BTM and the report; the BTX model exports as a
/// Mixtral with the seed's tokenizer and generates from a text prompt. (The full-size run is the
/// README's "BTX from a pretrained model".)
final class SmolLM2PipelineTests: XCTestCase {
    /// The checked-in pipelines folder (this file is Tests/btxpipeTests/…).
    private let pipelines = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("pipelines")

    @discardableResult
    private func btx(_ arguments: [String], in dir: TemporaryDirectory) throws -> CommandResult {
        let result = try BTXPipeBinary.run(arguments, in: dir.url, environment: ["NO_COLOR": "1"])
        XCTAssertEqual(result.status, 0, "btxpipe \(arguments.joined(separator: " ")):\n\(result.stdout)\n\(result.stderr)")
        return result
    }

    private func gguf() throws -> String {
        let path = ProcessInfo.processInfo.environment["BTXPIPE_SMOLLM2_GGUF"] ?? ""
        guard !path.isEmpty, FileManager.default.fileExists(atPath: path) else {
            let why = "BTXPIPE_SMOLLM2_GGUF does not name the SmolLM2 GGUF (run `make smollm2`)"
            if ReferencePython.required { throw ReferenceStackMissing(why: why) }
            throw XCTSkip("SKIPPED (SmolLM2 missing): \(why)")
        }
        return path
    }

    /// smollm2.yaml with every size var shrunk (its stages untouched).
    private func tinySpec(gguf: String) -> String {
        """
        extends: smollm2.yaml
        name: smollm2
        vars:
          gguf: \(gguf)
          corpus_bytes: 60000
          validation_tokens: 256
          train: {batch_size: 1, sequence_length: 32}
          expert: {steps: 1, learning_rate: 0.0001, warmup_steps: 0}
          finetune: {steps: 1, learning_rate: 0.00005, warmup_steps: 0, batch_size: 1, gradient_accumulation: 2, load_tokens: 32}
          mix_hidden_tokens: 32
          eval: {batch_size: 1, sequence_length: 32, max_batches: 1, math_problems: 1, max_new_tokens: 4}

        """
    }

    func testSmolLM2PipelineRunsEndToEndThenExportsAndGeneratesWithTheSeedsTokenizer() throws {
        let path = try gguf()
        let dir = try TemporaryDirectory()
        try String(contentsOf: pipelines.appendingPathComponent("smollm2.yaml"), encoding: .utf8)
            .write(toFile: dir.path("smollm2.yaml"), atomically: false, encoding: .utf8)
        try tinySpec(gguf: path).write(toFile: dir.path("tiny.yaml"), atomically: false, encoding: .utf8)

        let run = try btx(["run", "tiny.yaml", "-j", "1"], in: dir)
        let summary = try XCTUnwrap(run.stderr.split(separator: "\n").last { $0.hasPrefix("smollm2: ") })
        XCTAssertTrue(summary.contains(" ran") && !summary.contains("failed"), String(summary))
        XCTAssertTrue(run.stderr.contains("| code: "), "tokens[code] logs its token counts:\n\(run.stderr)")

        let report = try btx(["report", "tiny.yaml"], in: dir).stdout
        for row in ["| seed (SmolLM2-135M-Instruct) |", "| expert code |", "| BTX top-2 |", "| dense (matched) |",
                    "| sparse upcycling (matched) |", "| BTM (ensemble) |"] {
            XCTAssertTrue(report.contains(row), "report lacks \(row):\n\(report)")
        }

        try btx(["export", "btx", "--pipeline", "tiny.yaml", "btx-hf"], in: dir)
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path("btx-hf/config.json")))) as? [String: Any])
        XCTAssertEqual(config["architectures"] as? [String], ["MixtralForCausalLM"])
        XCTAssertEqual(config["num_local_experts"] as? Int, 4)
        XCTAssertEqual(config["num_key_value_heads"] as? Int, 3)
        XCTAssertEqual(config["vocab_size"] as? Int, 49152)
        XCTAssertEqual(config["tie_word_embeddings"] as? Bool, true)
        let tokenizerConfig = try String(contentsOfFile: dir.path("btx-hf/tokenizer_config.json"), encoding: .utf8)
        XCTAssertTrue(tokenizerConfig.contains("chat_template"), "the seed's chat template travels to the export")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path("btx-hf/tokenizer.json")))

        let generated = try btx(["generate", "btx", "--pipeline", "tiny.yaml", "--prompt", "def fib(n):", "--max-tokens", "4",
                                 "--temperature", "0"], in: dir)
        XCTAssertFalse(generated.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, generated.stderr)
    }
}
