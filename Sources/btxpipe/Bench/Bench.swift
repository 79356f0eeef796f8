import ArgumentParser
import BTXModel
import BTXStore
import Foundation

/// `btxpipe bench [NAME…]`: runs all benches or the named ones; each measurement prints a table
/// row and one JSON line (for scripts and the CI history).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput (store, kernels, training); prints a table row and a JSON line per measurement.")

    /// Every bench, by name. Add yours here.
    static let suites: [any BenchSuite.Type] = [
        StoreBench.self, TokenizerBenchSuite.self, TrainBenchSuite.self, PipelineBenchSuite.self, MoEBenchSuite.self, HFBench.self,
        ExportBench.self, EvaluateBenchSuite.self, GenerateBenchSuite.self, NoopBenchSuite.self,
    ]

    @Flag(help: "Small sizes: checks that the benches run, not how fast.")
    var quick = false

    @Option(name: .customLong("config"), help: "Train configs to run (repeatable; default: all of \(TrainingBenchmark.trainBenchNames.joined(separator: ", "))).")
    var configs: [String] = []

    @Argument(help: "Benches to run (default: all). Known: \(suites.map { $0.name }.joined(separator: ", ")).")
    var names: [String] = []

    func validate() throws {
        let known = Set(Bench.suites.map { $0.name })
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw ValidationError("unknown bench \"\(unknown)\"; known: \(known.sorted().joined(separator: ", "))")
        }
        if let unknown = configs.first(where: { !TrainingBenchmark.trainBenchNames.contains($0) }) {
            throw ValidationError("unknown train config \"\(unknown)\"; known: \(TrainingBenchmark.trainBenchNames.joined(separator: ", "))")
        }
    }

    func run() throws {
        for suite in Bench.suites where names.isEmpty || names.contains(suite.name) {
            try suite.init().run(quick: quick, configs: configs) { $0.emit() }
        }
    }
}

/// A group of related measurements, run by `btxpipe bench NAME`.
protocol BenchSuite {
    static var name: String { get }
    init()
    /// Measures, handing each finished measurement to `emit` as it is done.
    func run(quick: Bool, emit: (BenchReport) -> Void) throws
    /// As `run(quick:emit:)`, limited to the named configs where the suite has several (`--config`).
    func run(quick: Bool, configs: [String], emit: (BenchReport) -> Void) throws
}

extension BenchSuite {
    func run(quick: Bool, configs: [String], emit: (BenchReport) -> Void) throws { try run(quick: quick, emit: emit) }
}

/// One measurement: what was measured (`bench`, `config`) and its numbers, in print order.
struct BenchReport {
    var bench: String
    var config: String
    var fields: [(name: String, value: Double)]

    /// Prints the readable row, then the JSON line.
    func emit() {
        let row = fields.map { "\($0.name)=\(String(format: "%.3g", $0.value))" }.joined(separator: "  ")
        print("\(bench.padding(toLength: 8, withPad: " ", startingAt: 0)) \(config.padding(toLength: 24, withPad: " ", startingAt: 0)) \(row)")
        var json = "{\"bench\":\(JSONValue.string(bench).canonicalText),\"config\":\(JSONValue.string(config).canonicalText)"
        for (name, value) in fields { json += ",\(JSONValue.string(name).canonicalText):\(JSONValue.double((value * 1000).rounded() / 1000).canonicalText)" }
        print(json + "}")
        fflush(stdout)
    }

    /// Peak resident memory of this process so far (or since `resetPeakRSS`), in MiB (Linux; 0 elsewhere).
    static func peakRSSMiB() -> Double { TrainingBenchmark.peakRSSMiB() }

    /// CPU seconds (user + system, all threads) this process has used so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)   // NOTE: Glibc spelling
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Seconds taken by `body`.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }
}
