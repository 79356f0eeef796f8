import BTXModel
import BTXTensor
import Foundation

/// `btxpipe bench evaluate`'s measurement: held-out scoring (`EvaluateStage`'s loop: the probability
/// of every target token) of random-initialised models on random batches, one model or BTM's
/// ensemble of `experts` (likelihood weighting, as pipelines/btx.yaml's `evaluate-btm`).
public enum EvaluateBenchmark {
    /// Scored tokens per second over `batches` batches of `batchSize × sequenceLength` (after one
    /// warm-up batch), with `experts` models of `config` (1: a single model; more: BTM's ensemble).
    public static func tokensPerSecond(config: LlamaConfig, experts: Int, batchSize: Int, sequenceLength: Int,
                                       batches: Int, threads: Int = 2) throws -> Double {
        let models = try (0..<experts).map { e -> SingleModel in
            let parameters = ParameterSet(layout: LlamaParameters.layout(config))
            LlamaParameters.initialize(parameters, seed: UInt64(e + 1))
            return try SingleModel(config: config, parameters: parameters, batchSize: batchSize,
                                   sequenceLength: sequenceLength, threads: threads)
        }
        let scored: EvaluatedModel = experts == 1 ? models[0] : EnsembleModel(experts: models, topK: experts)
        var rng = SplitMix64(seed: 7)
        let V = UInt64(config.vocabSize)
        let inputs = (0...batches).map { _ in
            (0..<batchSize * (sequenceLength + 1)).map { _ in Int32(rng.next() % V) }
        }
        var out = [Float](repeating: 0, count: batchSize * sequenceLength)
        try scored.targetProbabilities(inputs[0], domain: 0, into: &out)  // warm-up
        let start = DispatchTime.now().uptimeNanoseconds
        for batch in inputs.dropFirst() { try scored.targetProbabilities(batch, domain: 0, into: &out) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(batches * batchSize * sequenceLength) / seconds
    }
}
