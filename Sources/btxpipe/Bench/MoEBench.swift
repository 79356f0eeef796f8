import BTXModel
import Foundation

/// `btxpipe bench moe`: training throughput of config S-MoE (config S with 4 experts, top-2, LB
/// α = 0.01) next to dense S measured in the same process, with MFU against the same-process sgemm.
/// Target: S-MoE ≥ 0.6 × the dense S step rate.
enum MoEBench {
    /// Runs dense S, then S-MoE: one table row and one JSON line each, their phase breakdown, the ratio.
    static func run(steps: Int = 10, threads: Int = 2) throws {
        let (moeSetup, moe) = try TrainingBenchmark.moeSetup()
        let dense = try TrainingBenchmark.run(try TrainingBenchmark.setup("S"), steps: steps, threads: threads)
        let mixed = try TrainingBenchmark.run(moeSetup, moe: moe, steps: steps, threads: threads)
        print("config  tokens/s  step s  model GF/s  sgemm GF/s   MFU %  peak RSS MiB")
        for r in [dense, mixed] {
            print(String(format: "%-6@ %9.0f %7.3f %11.1f %11.1f %7.1f %13.0f", r.setup.name as NSString, r.tokensPerSecond,
                         r.stepSeconds, r.modelGFLOPs, r.sgemmGFLOPs, r.mfuPercent, r.peakRSSMiB))
            print(TrainBench.jsonLine(r))
        }
        for r in [dense, mixed] {
            print("config \(r.setup.name): " + r.phases.map { String(format: "%@ %.3f s", $0.0.name as NSString, $0.1) }
                .joined(separator: ", "))
        }
        let ratio = mixed.tokensPerSecond / dense.tokensPerSecond
        print(String(format: "S-MoE / S step rate: %.2f (target ≥ 0.60)", ratio))
        print(String(format: "{\"bench\":\"moe_vs_dense\",\"config\":\"S-MoE\",\"ratio\":%.3f}", ratio))
    }
}
