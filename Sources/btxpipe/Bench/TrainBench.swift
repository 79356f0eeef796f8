import BTXModel
import Foundation

/// `btxpipe bench train`: dense Llama training throughput for configs S and M (see
/// `TrainingBenchmark`). Prints one table row and one JSON line per config, then the per-phase
/// breakdown of each.
enum TrainBench {
    /// Runs the named configs ("S", "M") for `steps` measured steps each.
    static func run(configs: [String] = ["S", "M"], steps: Int = 20, threads: Int = 2) throws {
        print("config  tokens/s  step s  model GF/s  sgemm GF/s   MFU %  peak RSS MiB")
        var results = [TrainingBenchmark.Result]()
        for name in configs {
            let r = try TrainingBenchmark.run(try TrainingBenchmark.setup(name), steps: steps, threads: threads)
            results.append(r)
            print(name.padding(toLength: 6, withPad: " ", startingAt: 0) + String(format: " %9.0f %7.3f %11.1f %11.1f %7.1f %13.0f", r.tokensPerSecond,
                         r.stepSeconds, r.modelGFLOPs, r.sgemmGFLOPs, r.mfuPercent, r.peakRSSMiB))
            print(jsonLine(r))
        }
        for r in results {
            print("\nconfig \(r.setup.name): seconds per step by phase (forward + backward)")
            let total = r.phases.reduce(0) { $0 + $1.1 }
            for (phase, seconds) in r.phases {
                // NOTE: `%-16@` does not pad on Linux Foundation; pad the name ourselves.
                let name = phase.name.padding(toLength: 16, withPad: " ", startingAt: 0)
                print(name + String(format: " %8.3f  %5.1f %%", seconds, 100 * seconds / max(total, 1e-12)))
            }
        }
    }

    /// `{"bench":"train","config":"M","tokens_per_s":…,"mfu_pct":…,"rss_mib":…,…}`
    static func jsonLine(_ r: TrainingBenchmark.Result) -> String {
        let phases = r.phases.map { String(format: "\"%@\":%.4f", $0.0.name as NSString, $0.1) }.joined(separator: ",")
        return String(format: "{\"bench\":\"train\",\"config\":\"%@\",\"tokens_per_s\":%.1f,\"step_s\":%.4f,"
                      + "\"model_gflops\":%.2f,\"sgemm_gflops\":%.2f,\"mfu_pct\":%.1f,\"rss_mib\":%.0f,\"phase_s\":{%@}}",
                      r.setup.name as NSString, r.tokensPerSecond, r.stepSeconds, r.modelGFLOPs, r.sgemmGFLOPs,
                      r.mfuPercent, r.peakRSSMiB, phases as NSString)
    }
}
