@testable import BTXPipeline
import BTXStore
import Foundation
import TestSupport
import XCTest

/// Mutated pipeline YAML (issue 15's fuzzing figure): every input parses or is refused with a
/// one-line error naming the file; never a crash or a hang. `make soak` runs 10,000.
final class SpecFuzzTests: XCTestCase {
    /// The runner tests' toy pipeline, and the real example.yaml (every spec feature; its stage kinds
    /// are unknown to the toy registry, so mutants of it exercise parsing and templates, then refusal).
    private var seeds: [String] {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("pipelines/example.yaml")
        return [Toy.fanInSpec, (try? String(contentsOf: example, encoding: .utf8)) ?? ""]
    }

    func testMutatedPipelineYAMLParsesOrFailsWithOneLine() {
        let outcome = FuzzHarness.run(format: "pipeline-yaml", seeds: seeds.map { Array($0.utf8) }) { bytes in
            _ = try PipelineSpec.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml", registry: Toy.registry)
        }
        XCTAssertEqual(outcome.multiLine, [], "errors must be one line")
        XCTAssertLessThan(outcome.slowest, 5, "an input took \(outcome.slowest) s: a hang?")
        XCTAssertGreaterThan(outcome.rejected, 0)
    }
}
