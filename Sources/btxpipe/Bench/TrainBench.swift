import BTXData
import BTXModel
import BTXTensor
import Foundation

/// `btxpipe bench train [--config NAME…]`: training throughput of the bench configs (see
/// `TrainingBenchmark`: XS, XS-MoE, S, M, S-MoE, SmolLM2-135M), each step as the `train` stage runs
/// it: batches drawn by the stage's own loader (`BatchSampler` over a random-token domain), forward,
/// backward, clipping and AdamW. Prints one table row and one JSON line per config, each with its own
/// peak RSS (the previous config's model is freed and the peak reset before each), then the per-phase
/// breakdown of each.
enum TrainBench {
    /// Runs the named configs for `steps` measured steps each.
    static func run(configs: [String] = TrainingBenchmark.trainBenchNames, steps: Int = 20, threads: Int = 2) throws {
        print(String(format: "process baseline RSS before the train rows: %.0f MiB", TrainingBenchmark.currentRSSMiB()))
        print("config        tokens/s  step s  model GF/s  sgemm GF/s   MFU %  peak RSS MiB  baseline MiB")
        var results = [TrainingBenchmark.Result]()
        for name in configs {
            let r = try measure(name, steps: steps, threads: threads)  // the model lives and dies inside
            results.append(r)
            print(name.padding(toLength: 12, withPad: " ", startingAt: 0)
                  + String(format: " %9.0f %7.3f %11.1f %11.1f %7.1f %13.0f %13.0f", r.tokensPerSecond, r.stepSeconds,
                           r.modelGFLOPs, r.sgemmGFLOPs, r.mfuPercent, r.peakRSSMiB, r.baselineRSSMiB))
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

    /// One config's run, fed by the `train` stage's loader over 2^20 random tokens.
    static func measure(_ name: String, steps: Int, threads: Int) throws -> TrainingBenchmark.Result {
        let (setup, moe) = try TrainingBenchmark.namedSetup(name)
        var rng = SplitMix64(seed: 7)
        let V = UInt64(setup.config.vocabSize)
        let domain = (0..<(1 << 20)).map { _ in UInt32(rng.next() % V) }
        let sampler = try BatchSampler(domains: [domain], weights: [1], seed: 7, batchSize: setup.batchSize,
                                       sequenceLength: setup.sequenceLength)
        return try TrainingBenchmark.run(setup, moe: moe, steps: steps, threads: threads,
                                         batches: { step, _, out in sampler.fill(step: step, into: out) })
    }

    /// `{"bench":"train","config":"M","tokens_per_s":…,"mfu_pct":…,"rss_mib":…,…}`
    static func jsonLine(_ r: TrainingBenchmark.Result) -> String {
        let phases = r.phases.map { String(format: "\"%@\":%.4f", $0.0.name as NSString, $0.1) }.joined(separator: ",")
        return String(format: "{\"bench\":\"train\",\"config\":\"%@\",\"tokens_per_s\":%.1f,\"step_s\":%.4f,"
                      + "\"model_gflops\":%.2f,\"sgemm_gflops\":%.2f,\"mfu_pct\":%.1f,\"rss_mib\":%.0f,\"baseline_rss_mib\":%.0f,"
                      + "\"phase_s\":{%@}}",
                      r.setup.name as NSString, r.tokensPerSecond, r.stepSeconds, r.modelGFLOPs, r.sgemmGFLOPs,
                      r.mfuPercent, r.peakRSSMiB, r.baselineRSSMiB, phases as NSString)
    }
}
