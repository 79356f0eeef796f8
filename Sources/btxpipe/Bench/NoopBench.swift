import Foundation

/// `btxpipe bench noop`: the wall time of `btxpipe run pipelines/btx.yaml` when every stage is cached,
/// process start included (best of 5), on a scratch store filled by one cold run. The stages are
/// shrunk with `--set` so the cold run takes seconds, but the fetch stages read the real corpora, so
/// fingerprinting them costs what it costs in `make run`'s rerun. Target: ≤ 0.15 s (issue 18 §6;
/// `dvc repro` on the same 26 stages took 1.96–2.29 s).
struct NoopBenchSuite: BenchSuite {
    static let name = "noop"
    static let pipeline = "pipelines/btx.yaml"

    /// Overrides that make every stage of pipelines/btx.yaml tiny (same stages, same fan-outs).
    static let tiny = [
        "vars.corpus_bytes=20000", "stages.tokenizer.params.vocab_size=300", "stages.tokenizer.params.max_bytes_per_corpus=20000",
        "stages.tokens.params.min_validation_tokens=200", "stages.math.params.held_out=4",
        "models.small={hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64, tie_word_embeddings: false}",
        "vars.train={batch_size: 2, sequence_length: 16}", "stages.seed.params.steps=2", "stages.expert.params.steps=2",
        "vars.finetune={steps: 2, warmup_steps: 1}",
        "vars.eval={batch_size: 2, sequence_length: 16, max_batches: 1, math_problems: 1, max_new_tokens: 2}",
    ].flatMap { ["--set", $0] }

    func run(quick: Bool, emit: (BenchReport) -> Void) throws {
        guard FileManager.default.fileExists(atPath: Self.pipeline) else {
            print("noop: run from the repository root (\(Self.pipeline) not found): row skipped")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("btxpipe-bench-noop-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let arguments = ["run", Self.pipeline, "--store", directory.path, "-q"] + Self.tiny
        let cold = try BenchReport.time { try BenchProcess.run(arguments) }
        let reruns = try (0..<(quick ? 2 : 5)).map { _ in try BenchReport.time { try BenchProcess.run(arguments) } }
        emit(BenchReport(bench: "noop", config: "btx.yaml rerun", fields: [("rerun_s", reruns.min()!), ("cold_tiny_s", cold)]))
    }
}
