import BTXModel
import XCTest

final class ZZBenchScratch: XCTestCase {
    func testBenchScratch() throws {
        guard let which = ProcessInfo.processInfo.environment["SCRATCH_BENCH"] else { return }
        for name in which.split(separator: ",") {
            let r = try TrainingBenchmark.run(try TrainingBenchmark.setup(String(name)), steps: Int(ProcessInfo.processInfo.environment["SCRATCH_STEPS"] ?? "5")!)
            print("RESULT", name, String(format: "tok/s %.0f step %.3fs model %.1f GF/s sgemm %.1f GF/s MFU %.1f%% RSS %.0f MiB", r.tokensPerSecond, r.stepSeconds, r.modelGFLOPs, r.sgemmGFLOPs, r.mfuPercent, r.peakRSSMiB))
            for (p, s) in r.phases { print("PHASE", p.name, String(format: "%.4f", s)) }
        }
    }
}
