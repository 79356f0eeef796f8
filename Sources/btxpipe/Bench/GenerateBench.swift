import BTXModel
import BTXStages
import BTXStore
import BTXTensor
import Foundation

/// `btxpipe bench generate`: start-up and greedy decode speed. SmolLM2-135M imported from its GGUF
/// (`BTXPIPE_SMOLLM2_GGUF`, default `.build/smollm2/…`; skipped with a note when absent): start-up is
/// the wall time of `btxpipe generate --max-tokens 1` as a user runs it (best of 3), tokens/s the
/// decode rate past the first token. XS-MoE (random, 4 experts, top-2): decode rate. Tests/Bench/
/// peer_transformers.py measures the same with transformers' `generate`.
struct GenerateBenchSuite: BenchSuite {
    static let name = "generate"
    static let prompt = "The capital of France is"

    func run(quick: Bool, emit: (BenchReport) -> Void) throws {
        try smolLM2(newTokens: quick ? 8 : 64, emit: emit)
        try moe(newTokens: quick ? 16 : 128, emit: emit)
    }

    /// New tokens per second past the first: (n − 1) / (time of n − time of 1), best of two each.
    static func decodeRate(newTokens n: Int, _ generate: (Int) throws -> Void) throws -> Double {
        try generate(2)  // warm-up
        let one = try (0..<2).map { _ in try BenchReport.time { try generate(1) } }.min()!
        let many = try (0..<2).map { _ in try BenchReport.time { try generate(n) } }.min()!
        return Double(n - 1) / max(many - one, 1e-9)
    }

    private func smolLM2(newTokens: Int, emit: (BenchReport) -> Void) throws {
        let gguf = ProcessInfo.processInfo.environment["BTXPIPE_SMOLLM2_GGUF"] ?? ".build/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard FileManager.default.fileExists(atPath: gguf) else {
            print("generate: no SmolLM2 GGUF at \(gguf) (make smollm2, or set BTXPIPE_SMOLLM2_GGUF): row skipped")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("btxpipe-bench-generate-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try BenchProcess.run(["import", "gguf", gguf, "--name", "smol", "--store", directory.path])
        let startup = try (0..<3).map { _ in
            try BenchReport.time {
                _ = try BenchProcess.run(["generate", "smol", "--store", directory.path, "--prompt", Self.prompt,
                                          "--max-tokens", "1", "--temperature", "0"])
            }
        }.min()!
        BenchReport.resetPeakRSS()
        let store = try Store(root: directory)
        guard let smol = try store.ref("model/smol") else { throw ValidationErrorText("generate bench: import left no ref model/smol") }
        let session = try GenerationSession(try store.manifest(smol), store: store)
        let ids = try session.encode(Self.prompt)
        var text: [UInt8] = []
        let rate = try Self.decodeRate(newTokens: newTokens) { n in
            text = []
            try session.generate(prompt: ids, maxNewTokens: n, temperature: 0, topK: 0, topP: 1, seed: 0) {
                text += session.bytes(of: $0)
            }
        }
        emit(BenchReport(bench: "generate", config: "SmolLM2-135M",
                         fields: [("startup_s", startup), ("new_tokens_per_s", rate), ("rss_mib", BenchReport.peakRSSMiB())]))
        print("greedy: \(String(decoding: text.prefix(48), as: UTF8.self).debugDescription)")
    }

    private func moe(newTokens: Int, emit: (BenchReport) -> Void) throws {
        BenchReport.resetPeakRSS()
        let (setup, moe) = try TrainingBenchmark.moeSetup("XS")
        let c = setup.config
        let parameters = ParameterSet(layout: MoEParameters.layout(c, moe))
        LlamaParameters.initialize(parameters, seed: 1)
        var rng = SplitMix64(seed: 2)
        let prompt = (0..<16).map { _ in Int32(rng.next() % UInt64(c.vocabSize)) }
        let rate = try Self.decodeRate(newTokens: newTokens) { n in
            let generator = try TextGenerator(config: c, parameters: parameters, maxLength: prompt.count + n,
                                              feedForward: MoEParameters.feedForward(moe))
            _ = try generator.generate(prompt: prompt, maxNewTokens: n)
        }
        emit(BenchReport(bench: "generate", config: "XS-MoE",
                         fields: [("new_tokens_per_s", rate), ("rss_mib", BenchReport.peakRSSMiB())]))
    }
}

/// `btxpipe bench evaluate`: held-out scoring tokens/s of the XS model (pipelines/btx.yaml's) alone and
/// as BTM's three-expert ensemble, B 16 × T 128 as the pipeline's `evaluate` stages score.
struct EvaluateBenchSuite: BenchSuite {
    static let name = "evaluate"

    func run(quick: Bool, emit: (BenchReport) -> Void) throws {
        let setup = try TrainingBenchmark.setup("XS")
        for experts in [1, 3] {
            BenchReport.resetPeakRSS()
            let rate = try EvaluateBenchmark.tokensPerSecond(config: setup.config, experts: experts, batchSize: setup.batchSize,
                                                            sequenceLength: setup.sequenceLength, batches: quick ? 1 : 4)
            emit(BenchReport(bench: "evaluate", config: experts == 1 ? "XS" : "XS-BTM",
                             fields: [("tokens_per_s", rate), ("rss_mib", BenchReport.peakRSSMiB())]))
        }
    }
}

/// Runs this btxpipe binary as a child process (what a user's command costs, process start included).
enum BenchProcess {
    /// Runs `btxpipe ARGUMENTS` to completion; throws with its stderr when it fails.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationErrorText("btxpipe \(arguments.joined(separator: " ")) failed: \(errors)")
        }
        return text
    }
}

/// A bench set-up failure, printed as is.
struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}
