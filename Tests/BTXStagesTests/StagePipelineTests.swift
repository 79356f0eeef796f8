@testable import BTXPipeline
@testable import BTXStages
import BTXStore
import TestSupport
import XCTest

/// Every stage kind of the default pipeline through the runner on tiny inputs: the first run computes
/// each stage, a rerun computes none (cached), and changing one training parameter reruns only that
/// stage and what depends on it.
final class StagePipelineTests: XCTestCase {
    private func spec(corpus: String, expertSteps: Int) -> String {
        """
        name: tiny
        models:
          tiny: {hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 32}
        stages:
          fetch: {kind: fetch, params: {domain: prose, path: "\(corpus)", include: ["*.txt"], format: paragraphs, max_bytes: 20000}}
          math: {kind: math-problems, params: {seed: 3, max_bytes: 20000, held_out: 3}}
          tokenizer: {kind: tokenizer, params: {vocab_size: 300}, inputs: {corpora: [fetch, math]}}
          tokens:
            foreach: [{name: prose, corpus: fetch}, {name: math, corpus: math}]
            kind: tokenize
            params: {min_validation_tokens: 600}
            inputs: {corpus: "${item.corpus}", tokenizer: tokenizer}
          init: {kind: init, params: {config: "${models.tiny}", seed: 2}, inputs: {tokenizer: tokenizer}}
          seed:
            kind: train
            params: {steps: 3, batch_size: 2, sequence_length: 16}
            inputs: {model: init, data: "tokens[*]"}
          expert:
            foreach: [prose, math]
            kind: train
            params: {steps: \(expertSteps), batch_size: 2, sequence_length: 16}
            inputs: {model: seed, data: "tokens[${item}]"}
          evaluate:
            foreach: [{name: seed, model: seed}, {name: prose, model: "expert[prose]"}]
            kind: evaluate
            params: {name: "${item.name}", batch_size: 2, sequence_length: 16, max_batches: 2, math_problems: 2, max_new_tokens: 8}
            inputs: {model: "${item.model}", data: "tokens[*]", math: math, tokenizer: tokenizer}
          btm:
            kind: evaluate
            params: {name: BTM, role: btm, batch_size: 2, sequence_length: 16, max_batches: 1, math_problems: 0}
            inputs: {experts: "expert[*]", data: "tokens[*]"}
          report: {kind: report, inputs: {results: ["evaluate[*]", btm]}}
        """
    }

    private func run(_ text: String, store: Store) throws -> [String: String] {
        try StageFixtures.runOutcomes(text, file: "tiny.yaml", store: store)
    }

    func testEveryStageRunsOnceThenIsCachedAndAChangeRerunsOnlyItsDescendants() throws {
        let dir = try TemporaryDirectory()
        let corpus = dir.url.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        let paragraphs = (0..<120).map { "Paragraph \($0): the quick brown fox \($0 % 7) jumps over the lazy dog \($0 % 5) times." }
        try paragraphs.joined(separator: "\n\n").write(to: corpus.appendingPathComponent("a.txt"), atomically: false, encoding: .utf8)
        let store = try Store(root: dir.url.appendingPathComponent("store"))

        let first = try run(spec(corpus: corpus.path, expertSteps: 2), store: store)
        XCTAssertEqual(first.count, 13)
        XCTAssertEqual(first.filter { $0.value != "ran" }, [:])
        XCTAssertEqual(try run(spec(corpus: corpus.path, expertSteps: 2), store: store).filter { $0.value != "cached" }, [:])

        let changed = try run(spec(corpus: corpus.path, expertSteps: 3), store: store)
        XCTAssertEqual(Set(changed.filter { $0.value == "ran" }.keys),
                       ["expert[prose]", "expert[math]", "evaluate[prose]", "btm", "report"])
    }
}
