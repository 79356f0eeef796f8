import Foundation
import TestSupport
import XCTest

/// End-to-end tests of `import hf`, `export --format hf` and `generate` through the real binary.
final class HFCommandTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hf")

    @discardableResult
    func btx(_ arguments: [String], in dir: TemporaryDirectory, expect status: Int32 = 0) throws -> CommandResult {
        let result = try BTXPipeBinary.run(arguments, in: dir.url, environment: ["NO_COLOR": "1"])
        XCTAssertEqual(result.status, status, "btxpipe \(arguments.joined(separator: " ")):\n\(result.stdout)\n\(result.stderr)")
        return result
    }

    func testImportThenExportByNameGivesIdenticalTensorFiles() throws {
        let dir = try TemporaryDirectory()
        let source = fixtures.appendingPathComponent("mixtral").path
        let imported = try btx(["import", "hf", source, "--name", "mix"], in: dir)
        XCTAssertTrue(imported.stdout.contains("(ref model/mix)"), imported.stdout)
        try btx(["export", "mix", "out", "--format", "hf"], in: dir)
        XCTAssertEqual(try Data(contentsOf: dir.url.appendingPathComponent("out/model.safetensors")),
                       try Data(contentsOf: fixtures.appendingPathComponent("mixtral/model.safetensors")))
        let refused = try btx(["export", "mix", "out", "--format", "hf"], in: dir, expect: 1)
        XCTAssertTrue(refused.stderr.hasPrefix("btxpipe: ") && refused.stderr.contains("not an empty directory"), refused.stderr)
        let bad = try btx(["export", "mix", "out2", "--dtype", "i32"], in: dir, expect: 2)
        XCTAssertEqual(bad.stderr, "btxpipe: --dtype i32: expected f32, bf16 or f16\n")
    }

    func testExportLeavesNothingInTheTempFolder() throws {
        let dir = try TemporaryDirectory()
        let temp = dir.url.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        try btx(["import", "hf", fixtures.appendingPathComponent("llama-tied").path, "--name", "m"], in: dir)
        let export = try BTXPipeBinary.run(["export", "m", "out", "--format", "hf"], in: dir.url,
                                           environment: ["NO_COLOR": "1", "TMPDIR": temp.path])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temp.path), [])
    }

    func testImportOfAnUnsupportedModelFailsWithOneLine() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("gpt2"), withIntermediateDirectories: true)
        try Data(#"{"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}"#.utf8).write(to: dir.url.appendingPathComponent("gpt2/config.json"))
        let result = try btx(["import", "hf", "gpt2"], in: dir, expect: 1)
        XCTAssertTrue(result.stderr.hasSuffix("unsupported: architectures [\"GPT2LMHeadModel\"] (btxpipe reads LlamaForCausalLM and MixtralForCausalLM) (btxpipe refuses rather than load it as something else)\n"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1)
    }

    func testGreedyGenerationFromADirectoryEqualsGenerationFromTheStore() throws {
        let dir = try TemporaryDirectory()
        let source = fixtures.appendingPathComponent("llama-untied").path
        let args = ["--prompt-ids", "1 2 3", "--max-tokens", "5", "--temperature", "0"]
        let fromDirectory = try btx(["generate", source] + args, in: dir).stdout
        try btx(["import", "hf", source, "--name", "u"], in: dir)
        XCTAssertEqual(try btx(["generate", "u"] + args, in: dir).stdout, fromDirectory)
        XCTAssertEqual(fromDirectory.split(separator: " ").count, 5, fromDirectory)
        let noTokenizer = try btx(["generate", "u", "--prompt", "hi"], in: dir, expect: 2)
        XCTAssertTrue(noTokenizer.stderr.contains("the model has no tokenizer.json; pass --prompt-ids"), noTokenizer.stderr)
    }
}

/// The `import` stage kind inside a pipeline: cached on rerun, exportable by stage name.
final class ImportStageCommandTests: XCTestCase {
    func testSecondRunOfAnImportPipelineComputesNothingAndExportFindsTheStage() throws {
        let dir = try TemporaryDirectory()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/hf/llama-tied").path
        try "name: hf\nstages:\n  seed: {kind: import, params: {path: \"\(fixture)\", revision: v1}}\n"
            .write(toFile: dir.path("p.yaml"), atomically: false, encoding: .utf8)
        let first = try BTXPipeBinary.run(["run", "p.yaml"], in: dir.url, environment: ["NO_COLOR": "1"])
        XCTAssertTrue(first.stderr.hasSuffix("hf: 1 ran\n"), first.stderr)
        let second = try BTXPipeBinary.run(["run", "p.yaml"], in: dir.url, environment: ["NO_COLOR": "1"])
        XCTAssertTrue(second.stderr.hasSuffix("hf: 1 cached\n"), second.stderr)
        let export = try BTXPipeBinary.run(["export", "seed", "out", "--pipeline", "p.yaml"], in: dir.url)
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(try Data(contentsOf: dir.url.appendingPathComponent("out/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: fixture + "/model.safetensors")))
    }
}
