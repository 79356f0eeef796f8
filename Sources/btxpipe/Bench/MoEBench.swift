import BTXModel
import Foundation

/// `btxpipe bench moe`: training throughput of config S-MoE (config S with 4 experts, top-2, LB
/// α = 0.01) next to dense S measured in the same process, with MFU against the same-process sgemm.
/// Target: S-MoE ≥ 0.6 × the dense S step rate.
enum MoEBench {
    /// Runs dense S, then S-MoE; prints one table row and one JSON line per config, then the ratio.
    static func run(steps: Int = 10, threads: Int = 2, print emit: (String) -> Void = { Swift.print($0) }) throws {
        let setup = try TrainingBenchmark.setup("S")
        let moe = try MoEConfig(numLocalExperts: 4, numExpertsPerTok: 2)
        emit("config   tokens/s   step(s)  model GF/s  sgemm GF/s   MFU%   RSS MiB")
        let dense = try TrainingBenchmark.run(setup, steps: steps, threads: threads)
        report("S", dense, emit)
        let mixed = try TrainingBenchmark.run(setup, moe: moe, steps: steps, threads: threads)
        report("S-MoE", mixed, emit)
        let ratio = mixed.tokensPerSecond / dense.tokensPerSecond
        emit(String(format: "S-MoE / S step rate: %.2f (target ≥ 0.60)", ratio))
        emit(json(["bench": "moe_vs_dense", "config": "S-MoE", "ratio": ratio]))
    }

    static func report(_ name: String, _ r: TrainingBenchmark.Result, _ emit: (String) -> Void) {
        emit(String(format: "%-7@ %9.0f %9.3f %11.1f %11.1f %6.1f %9.0f", name as NSString, r.tokensPerSecond,
                    r.stepSeconds, r.modelGFLOPs, r.sgemmGFLOPs, r.mfuPercent, r.peakRSSMiB))
        emit(json(["bench": "train", "config": name, "tokens_per_s": r.tokensPerSecond, "mfu_pct": r.mfuPercent,
                   "rss_mib": r.peakRSSMiB]))
        emit("  phases: " + r.phases.map { String(format: "%@ %.1f ms", $0.0.name as NSString, $0.1 * 1000) }
            .joined(separator: ", "))
    }

    static func json(_ fields: [String: Any]) -> String {
        let text = fields.keys.sorted().map { key -> String in
            switch fields[key] {
            case let d as Double: return "\"\(key)\":" + String(format: "%.2f", d)
            case let s as String: return "\"\(key)\":\"\(s)\""
            default: return "\"\(key)\":null"
            }
        }
        return "{" + text.joined(separator: ",") + "}"
    }
}
