import BTXData
@testable import BTXPipeline
@testable import BTXStages
import BTXStore
import BTXTensor
import Foundation
import TestSupport

/// Tiny models, token data and contexts for the stage tests (each test runs in well under a second).
enum StageFixtures {
    /// A 2-layer, 32-wide Llama over a 64-token vocabulary.
    static let config: JSONValue = ["hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                    "num_attention_heads": 4, "vocab_size": 64, "max_position_embeddings": 64]

    /// A context for one stage run; `cancelAtStep` cancels the run once progress reaches that step.
    static func context(_ store: Store, stage: String = "s", params: [String: JSONValue], inputs: [String: Manifest] = [:],
                        cancelAtStep: Int? = nil) -> StageContext {
        let cancellation = Cancellation()
        let observer = CancellingObserver(at: cancelAtStep, cancellation: cancellation)
        return StageContext(store: store, stage: stage, key: .of(JSONValue.object(params).canonicalText + stage),
                            params: StageParams(params), inputs: inputs, inputHashes: [:], threads: 1,
                            events: observer, cancellation: cancellation)
    }

    /// A "tokens" manifest of `domain` whose tokens repeat a domain-specific pattern (so a model can learn it).
    static func tokens(_ store: Store, domain: String, pattern: [UInt32], count: Int = 4000) throws -> Manifest {
        var rng = SplitMix64(seed: UInt64(pattern.first ?? 0) + 1)
        let all = (0..<count).map { i -> UInt32 in rng.next() % 8 == 0 ? UInt32(rng.next() % 64) : pattern[i % pattern.count] }
        func tensor(_ t: ArraySlice<UInt32>) throws -> TensorEntry {
            try TokenSplit.bytes(Array(t), dtype: .u16).withUnsafeBytes { try store.putTensor($0, dtype: .u16, shape: [t.count]) }
        }
        return Manifest(kind: "tokens", tensors: ["train": try tensor(all[..<(count * 3 / 4)]),
                                                  "validation": try tensor(all[(count * 3 / 4)...])],
                        metadata: ["domain": .string(domain)])
    }

    /// A fresh tiny model.
    static func seedModel(_ store: Store, seed: Int = 1) throws -> Manifest {
        try InitStage().run(context(store, params: ["config": config, "seed": .int(Int64(seed))]))
    }

    /// Training params of a short run.
    static func trainParams(steps: Int = 8, checkpointEvery: Int = 3) -> [String: JSONValue] {
        ["steps": .int(Int64(steps)), "batch_size": 2, "sequence_length": 16, "learning_rate": 0.01,
         "checkpoint_every": .int(Int64(checkpointEvery)), "warmup_steps": 2]
    }
}

/// Cancels the run when a stage reports progress step `at`.
final class CancellingObserver: RunObserver, @unchecked Sendable {
    let at: Int?
    let cancellation: Cancellation
    init(at: Int?, cancellation: Cancellation) { self.at = at; self.cancellation = cancellation }
    func stageStarted(_ stage: String, key: ObjectHash) {}
    func stageEnded(_ result: StageResult) {}
    func note(_ line: String) {}
    func log(stage: String, line: String) {}
    func progress(stage: String, step: Int, total: Int, fields: [String: Double]) {
        if step == at { cancellation.cancel() }
    }
}

extension StageFixtures {
    /// Runs a pipeline spec through the real runner on one core and returns each stage's outcome
    /// ("ran", "cached", "failed: …"), for tests that check what a rerun recomputes.
    static func runOutcomes(_ text: String, file: String, store: Store) throws -> [String: String] {
        let spec = try PipelineSpec.parse(text, file: file, registry: StageCatalog.registry)
        var options = RunOptions()
        options.cores = 1
        let runner = try Runner(spec: spec, registry: StageCatalog.registry, store: store, options: options, observer: SilentObserver())
        return Dictionary(uniqueKeysWithValues: try runner.run().map { result -> (String, String) in
            switch result.outcome {
            case .cached: return (result.stage, "cached")
            case .ran: return (result.stage, "ran")
            case .failed(let error): return (result.stage, "failed: \(error)")
            default: return (result.stage, "\(result.outcome)")
            }
        })
    }
}
