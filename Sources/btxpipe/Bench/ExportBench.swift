import BTXModel
import BTXStages
import BTXStore
import Foundation

/// GGUF export speed: a random MoE of 4 experts on config M (config S with --quick) in the store,
/// written as q8_0 GGUF, in MB/s of f32 source bytes, with the export's own peak RSS (VmHWM reset
/// just before it, once the model's construction memory is freed): streaming keeps it near the
/// largest tensor's f32 size above the process's baseline.
struct ExportBench: BenchSuite {
    static let name = "export"

    func run(quick: Bool, emit: (BenchReport) -> Void) throws {
        let setup = try TrainingBenchmark.setup(quick ? "S" : "M")
        let moe = try MoEConfig(numLocalExperts: 4, numExpertsPerTok: 2)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("btxpipe-exportbench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let store = try Store(root: scratch.appendingPathComponent("store"))
        let manifest = try HFBench.randomModel(ModelArchitecture(llama: setup.config, moe: moe), store: store)
        let mb = Double(manifest.tensors.values.reduce(0) { $0 + $1.byteCount }) / 1e6
        let largest = Double(manifest.tensors.values.map(\.byteCount).max() ?? 0) / 1_048_576
        let baseline = BenchReport.currentRSSMiB()
        BenchReport.resetPeakRSS()
        let cpu = BenchReport.cpuSeconds()
        var bytes = 0
        let seconds = try BenchReport.time {
            bytes = try GGUFExporter(fileType: .q8_0).export(manifest, from: store, to: scratch.appendingPathComponent("m.gguf"))
        }
        emit(BenchReport(bench: "export", config: "\(setup.name)-MoE4 f32→q8_0", fields: [
            ("mb", mb), ("mb_per_s", mb / seconds), ("out_mb", Double(bytes) / 1e6), ("cpu_s", BenchReport.cpuSeconds() - cpu),
            ("rss_mib", BenchReport.peakRSSMiB()), ("baseline_rss_mib", baseline), ("largest_tensor_mib", largest)]))
    }
}

extension BenchReport {
    /// Resets this process's peak RSS (VmHWM) to its current RSS (Linux: `5` → /proc/self/clear_refs).
    static func resetPeakRSS() { TrainingBenchmark.resetPeakRSS() }

    /// Current resident memory (VmRSS) in MiB (Linux; 0 elsewhere).
    static func currentRSSMiB() -> Double { TrainingBenchmark.currentRSSMiB() }
}
