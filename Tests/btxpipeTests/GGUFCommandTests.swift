import Foundation
import TestSupport
import XCTest

/// End-to-end tests of `import gguf` through the real binary.
final class GGUFCommandTests: XCTestCase {
    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf")

    @discardableResult
    private func btx(_ arguments: [String], in dir: TemporaryDirectory, expect status: Int32 = 0) throws -> CommandResult {
        let result = try BTXPipeBinary.run(arguments, in: dir.url, environment: ["NO_COLOR": "1"])
        XCTAssertEqual(result.status, status, "btxpipe \(arguments.joined(separator: " ")):\n\(result.stdout)\n\(result.stderr)")
        return result
    }

    func testImportGGUFNamesTheModelAndGenerateRunsIt() throws {
        let dir = try TemporaryDirectory()
        let imported = try btx(["import", "gguf", fixtures.appendingPathComponent("tiny-moe.gguf").path], in: dir)
        XCTAssertTrue(imported.stdout.contains("(ref model/tiny-moe)"), imported.stdout)
        XCTAssertTrue(imported.stdout.contains("MixtralForCausalLM L=2 C=64 H=4/2 I=64 V=320 tied E=4 K=2"), imported.stdout)
        let generated = try btx(["generate", "tiny-moe", "--prompt-ids", "1 2 3", "--max-tokens", "4", "--temperature", "0"], in: dir)
        XCTAssertEqual(generated.stdout.split(separator: " ").count, 4, generated.stdout)
    }

    func testImportOfADamagedGGUFFailsWithOneLineNamingTheFile() throws {
        let dir = try TemporaryDirectory()
        let damaged = dir.url.appendingPathComponent("damaged.gguf")
        try Data(try Data(contentsOf: fixtures.appendingPathComponent("tiny-dense.gguf")).prefix(5000)).write(to: damaged)
        let result = try btx(["import", "gguf", "damaged.gguf"], in: dir, expect: 1)
        XCTAssertTrue(result.stderr.hasPrefix("btxpipe: ") && result.stderr.contains("/damaged.gguf: ") && result.stderr.contains("truncated"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }
}
