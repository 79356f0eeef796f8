import BTXTensor
import Dispatch
import Foundation

/// Training throughput on random tokens for the standard bench configs, with model FLOP/s, MFU
/// against `cblas_sgemm` measured at the model's own GEMM shapes in the same process, peak RSS and a
/// per-phase time breakdown. Used by `btxpipe bench train`; never run by tests.
public enum TrainingBenchmark {
    /// One bench configuration: architecture and micro-batch.
    public struct Setup: Sendable {
        public let name: String
        public let config: LlamaConfig
        public let batchSize: Int, sequenceLength: Int
        /// Whether the model recomputes its activations (`LlamaModel.recomputesActivations`).
        public let recomputeActivations: Bool

        /// A custom setup (tests use tiny ones).
        public init(name: String, config: LlamaConfig, batchSize: Int, sequenceLength: Int, recomputeActivations: Bool = false) {
            self.name = name
            self.config = config
            self.batchSize = batchSize
            self.sequenceLength = sequenceLength
            self.recomputeActivations = recomputeActivations
        }
    }

    /// The measurements of one run.
    public struct Result: Sendable {
        public let setup: Setup
        /// Median over the measured steps.
        public let stepSeconds: Double, tokensPerSecond: Double
        /// Model FLOP/s: (6 × matmul parameters + 12 · L · T · C) × tokens/s.
        public let modelGFLOPs: Double
        /// sgemm GFLOP/s over this model's GEMMs (forward and backward shapes, FLOP-weighted).
        public let sgemmGFLOPs: Double
        /// Peak resident memory during this run alone (VmHWM reset when the run starts).
        public let peakRSSMiB: Double
        /// Resident memory of the process when the run started (what the peak includes but the run did not add).
        public let baselineRSSMiB: Double
        /// Mean seconds per step of each phase.
        public let phases: [(StepPhase, Double)]

        /// Model FLOP utilisation vs measured sgemm, percent.
        public var mfuPercent: Double { 100 * modelGFLOPs / sgemmGFLOPs }
    }

    /// The bench configs: XS is exactly the model and batch of pipelines/btx.yaml's seed stage; S and M
    /// are untied, f32, T 256, B 8; SmolLM2-135M is the real seed of pipelines/smollm2.yaml (GQA 9/3
    /// heads, tied 49,152-token head) at T 256, B 4.
    public static let configNames = ["XS", "S", "M", "SmolLM2-135M"]
    /// Every config `btxpipe bench train` runs by default, the MoE ones (`moeSetup`) included.
    /// (`<config>-recompute` is that config with activation recomputation.)
    public static let trainBenchNames = ["XS", "XS-MoE", "S", "M", "S-MoE", "SmolLM2-135M", "SmolLM2-135M-recompute"]

    /// The named bench config (one of `configNames`).
    public static func setup(_ name: String) throws -> Setup {
        switch name {
        case "XS": return Setup(name: "XS", config: try LlamaConfig(hiddenSize: 128, intermediateSize: 352, numHiddenLayers: 4,
                                                                    numAttentionHeads: 4, vocabSize: 2048, maxPositionEmbeddings: 256),
                                batchSize: 16, sequenceLength: 128)
        case "S": return Setup(name: "S", config: try LlamaConfig(hiddenSize: 256, intermediateSize: 688, numHiddenLayers: 4,
                                                                  numAttentionHeads: 4, vocabSize: 2048, maxPositionEmbeddings: 256),
                               batchSize: 8, sequenceLength: 256)
        case "M": return Setup(name: "M", config: try LlamaConfig(hiddenSize: 512, intermediateSize: 1376, numHiddenLayers: 8,
                                                                  numAttentionHeads: 8, vocabSize: 4096, maxPositionEmbeddings: 256),
                               batchSize: 8, sequenceLength: 256)
        case "SmolLM2-135M":
            return Setup(name: name, config: try LlamaConfig(hiddenSize: 576, intermediateSize: 1536, numHiddenLayers: 30,
                                                             numAttentionHeads: 9, numKeyValueHeads: 3, vocabSize: 49152,
                                                             ropeTheta: 100_000, rmsNormEps: 1e-5, maxPositionEmbeddings: 8192,
                                                             tieWordEmbeddings: true),
                         batchSize: 4, sequenceLength: 256)
        default: throw ModelError.badInput("unknown bench config '\(name)' (expected one of \(configNames.joined(separator: ", ")))")
        }
    }

    /// Trains `steps` measured steps after `warmup` steps on random tokens (or on `batches`, e.g. the
    /// `train` stage's own data loader); with `moe`, every feed-forward layer is that mixture of experts
    /// (FLOPs then count the experts a token visits). The peak RSS is this run's own: the process's
    /// peak is reset first, so free the previous run's model before starting the next.
    public static func run(_ setup: Setup, moe: MoEConfig? = nil, steps: Int = 20, warmup: Int = 2,
                           threads: Int = 2, batches: BatchSource? = nil) throws -> Result {
        let c = setup.config, B = setup.batchSize, T = setup.sequenceLength
        resetPeakRSS()
        let baseline = currentRSSMiB()
        let parameters = ParameterSet(layout: moe.map { MoEParameters.layout(c, $0) } ?? LlamaParameters.layout(c))
        LlamaParameters.initialize(parameters, seed: 1)
        let model = try moe.map {
            try MoEParameters.model(c, runtime: MoERuntime(moe: $0, layers: c.numHiddenLayers, hiddenSize: c.hiddenSize,
                                                           rows: B * T, training: true),
                                    parameters: parameters, batchSize: B, sequenceLength: T, threads: threads,
                                    recomputeActivations: setup.recomputeActivations)
        } ?? LlamaModel(config: c, parameters: parameters, batchSize: B, sequenceLength: T, threads: threads,
                        recomputeActivations: setup.recomputeActivations)
        let trainer = try Trainer(model: model, hyper: TrainingHyperparameters(
            steps: warmup + steps, batchSize: B, sequenceLength: T, learningRate: 1e-3, warmupSteps: 1))
        let V = UInt64(c.vocabSize)
        let batches: BatchSource = batches ?? { step, micro, out in
            var rng = SplitMix64(seed: UInt64(step * 1000 + micro))
            for i in 0..<out.count { out[i] = Int32(rng.next() % V) }
        }
        for _ in 0..<warmup { try trainer.trainStep(batches: batches) }
        let timer = PhaseTimer()
        model.timer = timer
        var times = [Double]()
        for _ in 0..<steps { times.append(try trainer.trainStep(batches: batches).seconds) }
        model.timer = nil
        let median = times.sorted()[times.count / 2]
        let tokens = Double(B * T)
        let matmulParameters = moe.map { MoEParameters.activeMatmulParameterCount(c, $0) }
            ?? LlamaParameters.matmulParameterCount(c)
        let flopsPerToken = 6 * Double(matmulParameters)
            + 12 * Double(c.numHiddenLayers * T * c.hiddenSize)
        let rss = peakRSSMiB()  // before the sgemm timing allocates its own matrices
        return Result(setup: setup, stepSeconds: median, tokensPerSecond: tokens / median,
                      modelGFLOPs: flopsPerToken * tokens / median / 1e9,
                      sgemmGFLOPs: sgemmGFLOPs(c, rows: B * T, fusedGateUp: moe == nil, threads: threads), peakRSSMiB: rss,
                      baselineRSSMiB: baseline,
                      phases: StepPhase.allCases.map { ($0, timer.seconds[$0.rawValue] / Double(steps)) })
    }

    /// FLOP-weighted sgemm throughput over the products the model runs, each linear layer's three
    /// (forward NT, input-gradient NN, weight-gradient TN), at the model's own shapes: q|k|v as one
    /// product, gate|up as one when `fusedGateUp` (dense), each shape timed as the median of 5 on
    /// `threads` threads (`BLASRuntime.timeSGEMM`: the faster of OpenBLAS's threading and a row split).
    static func sgemmGFLOPs(_ c: LlamaConfig, rows N: Int, fusedGateUp: Bool, threads: Int) -> Double {
        let C = c.hiddenSize, kv = c.numKeyValueHeads * c.headSize, I = c.intermediateSize, L = c.numHiddenLayers
        // (out, in, count per step)
        let gateUp = fusedGateUp ? [(2 * I, C, L)] : [(I, C, 2 * L)]
        let linears = [(C + 2 * kv, C, L), (C, C, L)] + gateUp + [(C, I, L), (c.vocabSize, C, 1)]
        var flops = 0.0, seconds = 0.0
        for (out, inp, count) in linears {
            for (m, n, k, ta, tb) in [(N, out, inp, false, true), (N, inp, out, false, false), (out, inp, N, true, false)] {
                let t = BLASRuntime.timeSGEMM(m: m, n: n, k: k, transposeA: ta, transposeB: tb, threads: threads)
                flops += 2 * Double(m * n * k) * Double(count)
                seconds += t * Double(count)
            }
        }
        return flops / seconds / 1e9
    }

    /// VmHWM of this process in MiB (0 where /proc is unavailable).
    public static func peakRSSMiB() -> Double { ProcessStatus.mebibytes("VmHWM:") }

    /// VmRSS of this process in MiB (0 where /proc is unavailable).
    public static func currentRSSMiB() -> Double { ProcessStatus.mebibytes("VmRSS:") }

    /// Resets this process's peak RSS (VmHWM) to its current RSS (Linux: `5` → /proc/self/clear_refs).
    public static func resetPeakRSS() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}
