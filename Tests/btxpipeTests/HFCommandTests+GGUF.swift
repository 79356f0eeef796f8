import Foundation
import TestSupport
import XCTest

/// `btxpipe export … --format gguf` through the real binary (with the HF command tests' fixtures and helper).
extension HFCommandTests {
    func testAGGUFPathExportsGGUFAndToStoreStoresTheFileUnderItsSHA256() throws {
        let dir = try TemporaryDirectory()
        try btx(["import", "hf", fixtures.appendingPathComponent("mixtral").path, "--name", "mix"], in: dir)
        let result = try btx(["export", "mix", "mix.gguf", "--dtype", "q8_0", "--to-store"], in: dir)
        XCTAssertTrue(result.stdout.contains("to mix.gguf (q8_0)"), result.stdout)
        XCTAssertTrue(result.stderr.contains("warning: the model has no tokenizer.json"), result.stderr)
        let file = try Data(contentsOf: dir.url.appendingPathComponent("mix.gguf"))
        XCTAssertEqual(Array(file.prefix(4)), Array("GGUF".utf8))
        let sha = try runProcess(URL(fileURLWithPath: "/usr/bin/sha256sum"), [dir.path("mix.gguf")]).stdout.prefix(64)
        XCTAssertTrue(result.stdout.contains("stored \(sha)"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path("store/objects/v1/\(sha.prefix(2))/\(sha)")), "the object is in the store")
    }

    func testBadGGUFOptionsAreUsageErrorsOfOneLine() throws {
        let dir = try TemporaryDirectory()
        try btx(["import", "hf", fixtures.appendingPathComponent("llama-tied").path, "--name", "m"], in: dir)
        let dtype = try btx(["export", "m", "m.gguf", "--dtype", "bf16"], in: dir, expect: 2)
        XCTAssertEqual(dtype.stderr, "btxpipe: --dtype bf16: expected f32, f16, q8_0 or q4_0 for --format gguf\n")
        let format = try btx(["export", "m", "out", "--format", "onnx"], in: dir, expect: 2)
        XCTAssertEqual(format.stderr, "btxpipe: --format onnx: expected 'hf' or 'gguf'\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("m.gguf")))
    }
}
