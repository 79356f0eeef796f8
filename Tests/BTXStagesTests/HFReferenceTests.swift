import BTXModel
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// Exports checked by transformers itself: runs `make_fixtures.py compare` with the python of
/// `BTXPIPE_HF_PYTHON` (a venv with torch + transformers + safetensors; see `ReferencePython`).
final class HFReferenceTests: XCTestCase {
    private func python() throws -> URL {
        try ReferencePython.python(importing: ["torch", "transformers", "safetensors"])
    }

    /// Exports `manifest`, writes btxpipe's logits for the fixture tokens, and has transformers compare.
    private func assertTransformersAgrees(_ manifest: Manifest, store: Store, tokens: [[Int32]], in dir: TemporaryDirectory,
                                          file: StaticString = #filePath, line: UInt = #line) throws {
        let python = try python()
        let out = dir.url.appendingPathComponent("export")
        try HFExporter().export(manifest, from: store, to: out)
        let logits = try ModelWeights(manifest, store: store).logits(tokens)
        try logits.withUnsafeBytes { try Data($0).write(to: dir.url.appendingPathComponent("logits.f32")) }
        try JSONEncoder().encode(tokens).write(to: dir.url.appendingPathComponent("tokens.json"))
        let script = HFFixtures.root.appendingPathComponent("make_fixtures.py").path
        let result = try runProcess(python, [script, "compare", out.path, dir.path("tokens.json"), dir.path("logits.f32")])
        XCTAssertEqual(result.status, 0, "transformers disagrees:\n\(result.stdout)\n\(result.stderr)", file: file, line: line)
        print("transformers vs btxpipe: \(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    func testABTXMoEExportedByBtxpipeGivesTransformersTheLogitsBtxpipeComputes() throws {
        _ = try python()
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let moe = try HFTestModels.btx("llama-tied", experts: 3, perturbation: 0.05, store: store).moe
        try assertTransformersAgrees(moe, store: store, tokens: try HFFixtures.tokens("llama-tied"), in: dir)
    }

    func testADenseUntiedExportGivesTransformersTheLogitsBtxpipeComputes() throws {
        _ = try python()
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let dense = try HFImporter.importModel(HFFixtures.directory("llama-untied"), into: store)
        try assertTransformersAgrees(dense, store: store, tokens: try HFFixtures.tokens("llama-untied"), in: dir)
    }
}
