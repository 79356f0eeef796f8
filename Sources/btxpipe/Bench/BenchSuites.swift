import BTXModel

/// The benches that print their own rows (a table line and a JSON line per measurement), adapted to
/// `BenchSuite` so that `btxpipe bench NAME` finds them.
struct TrainBenchSuite: BenchSuite {
    static let name = "train"
    func run(quick: Bool, emit: (BenchReport) -> Void) throws { try run(quick: quick, configs: [], emit: emit) }

    func run(quick: Bool, configs: [String], emit: (BenchReport) -> Void) throws {
        let names = configs.isEmpty ? (quick ? ["XS", "XS-MoE"] : TrainingBenchmark.trainBenchNames) : configs
        try TrainBench.run(configs: names, steps: quick ? 3 : 20, threads: 2)
    }
}

struct TokenizerBenchSuite: BenchSuite {
    static let name = "tokenizer"
    func run(quick: Bool, emit: (BenchReport) -> Void) throws {
        var bench = TokenizerBench()
        if quick { bench.corpusBytes = 500_000 }
        try bench.run { print($0) }
    }
}

struct PipelineBenchSuite: BenchSuite {
    static let name = "pipeline"
    func run(quick: Bool, emit: (BenchReport) -> Void) throws {
        try PipelineBench.run(width: quick ? 20 : 200)
    }
}

struct MoEBenchSuite: BenchSuite {
    static let name = "moe"
    func run(quick: Bool, emit: (BenchReport) -> Void) throws {
        try MoEBench.run(steps: quick ? 3 : 20, threads: 2)
    }
}
