import BTXData
import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// A model as evaluation sees it: the probability it gives each target token of a batch, and a
/// greedy generator for math answers. Dense and MoE models are one `LlamaModel` each; a BTM ensemble
/// mixes several (see `EnsembleModel`).
protocol EvaluatedModel: AnyObject {
    /// Sequences per batch (B) and tokens per sequence (T) of `targetProbabilities`.
    var batchSize: Int { get }
    var sequenceLength: Int { get }
    /// The longest context generation may use (prompt + new tokens): `max_position_embeddings`.
    var maxContext: Int { get }
    /// `out[b·T + t]` = probability of token `t + 1` of row `b` given tokens `0...t`, for a batch of
    /// B rows of T + 1 tokens. `domain` labels the batch for routing statistics.
    func targetProbabilities(_ batch: [Int32], domain: Int, into out: inout [Float]) throws
    /// A greedy continuation of `prompt` (stopping after `isDone` says so or at `maxNewTokens`).
    func generate(prompt: [Int32], maxNewTokens: Int, stop: Set<Int32>, isDone: ([Int32]) -> Bool) throws -> [Int32]
    /// Routing statistics gathered so far (MoE models), nil for models without a router.
    func routing(domains: [String]) -> JSONValue?
}

/// One dense model (or one MoE model whose layers come from `feedForward`).
final class SingleModel: EvaluatedModel {
    let config: LlamaConfig
    let parameters: ParameterSet
    let model: LlamaModel
    let threads: Int
    let feedForward: FeedForwardFactory?
    var batchSize: Int { model.batchSize }
    var sequenceLength: Int { model.sequenceLength }
    var maxContext: Int { config.maxPositionEmbeddings }

    /// An inference model over `parameters` for batches of `batchSize × sequenceLength`.
    init(config: LlamaConfig, parameters: ParameterSet, batchSize: Int, sequenceLength: Int, threads: Int,
         feedForward: FeedForwardFactory? = nil) throws {
        self.config = config
        self.parameters = parameters
        self.threads = threads
        self.feedForward = feedForward
        model = try LlamaModel(config: config, parameters: parameters, batchSize: batchSize, sequenceLength: sequenceLength,
                               training: false, threads: threads, feedForward: feedForward)
    }

    func targetProbabilities(_ batch: [Int32], domain: Int, into out: inout [Float]) throws {
        _ = try batch.withUnsafeBufferPointer { try model.forward(sequences: $0) }
        let B = batchSize, T = sequenceLength, V = config.vocabSize
        let probs = model.logits  // probabilities after the loss
        out.withUnsafeMutableBufferPointer { out in
            for b in 0..<B {
                for t in 0..<T { out[b * T + t] = probs[(b * T + t) * V + Int(batch[b * (T + 1) + t + 1])] }
            }
        }
    }

    func generate(prompt: [Int32], maxNewTokens: Int, stop: Set<Int32>, isDone: ([Int32]) -> Bool) throws -> [Int32] {
        let generator = try TextGenerator(config: config, parameters: parameters, maxLength: prompt.count + maxNewTokens,
                                          threads: threads, feedForward: feedForward)
        var new: [Int32] = []
        let all = try generator.generate(prompt: prompt, maxNewTokens: maxNewTokens, stopTokens: stop) { token in
            new.append(token)
            return !isDone(new)
        }
        return Array(all.dropFirst(prompt.count))
    }

    func routing(domains: [String]) -> JSONValue? { nil }
}

/// Branch-Train-Merge's ensemble (Li et al. 2022, §4): the experts' next-token distributions mixed
/// with per-position weights = the posterior over experts given the sequence so far (uniform prior,
/// likelihood = each expert's probability of the tokens already seen), optionally cut to the `topK`
/// most probable experts. Generation uses the expert that best explains the prompt.
final class EnsembleModel: EvaluatedModel {
    let experts: [SingleModel]
    let topK: Int
    private var scratch: [[Float]]
    var batchSize: Int { experts[0].batchSize }
    var sequenceLength: Int { experts[0].sequenceLength }
    var maxContext: Int { experts[0].maxContext }

    init(experts: [SingleModel], topK: Int) {
        precondition(!experts.isEmpty)
        self.experts = experts
        self.topK = min(max(1, topK), experts.count)
        scratch = experts.map { [Float](repeating: 0, count: $0.batchSize * $0.sequenceLength) }
    }

    func targetProbabilities(_ batch: [Int32], domain: Int, into out: inout [Float]) throws {
        for e in experts.indices { try experts[e].targetProbabilities(batch, domain: domain, into: &scratch[e]) }
        let B = batchSize, T = sequenceLength, E = experts.count
        var logPosterior = [Double](repeating: 0, count: E), weights = [Double](repeating: 0, count: E)
        for b in 0..<B {
            for e in 0..<E { logPosterior[e] = 0 }
            for t in 0..<T {
                Self.weights(logPosterior, topK: topK, into: &weights)
                var p = 0.0
                for e in 0..<E { p += weights[e] * Double(scratch[e][b * T + t]) }
                out[b * T + t] = Float(p)
                for e in 0..<E { logPosterior[e] += Foundation.log(max(Double(scratch[e][b * T + t]), 1e-30)) }
            }
        }
    }

    /// Softmax of `logPosterior` over its `topK` largest entries (others 0).
    static func weights(_ logPosterior: [Double], topK: Int, into w: inout [Double]) {
        let order = logPosterior.indices.sorted { (logPosterior[$0], $1) > (logPosterior[$1], $0) }
        let kept = order.prefix(topK), top = logPosterior[order[0]]
        for e in w.indices { w[e] = 0 }
        var sum = 0.0
        for e in kept { w[e] = Foundation.exp(logPosterior[e] - top); sum += w[e] }
        for e in kept { w[e] /= sum }
    }

    func generate(prompt: [Int32], maxNewTokens: Int, stop: Set<Int32>, isDone: ([Int32]) -> Bool) throws -> [Int32] {
        var best = 0, bestLoss = Double.infinity
        for (e, expert) in experts.enumerated() {
            let loss = try Self.promptLoss(expert, prompt)
            if loss < bestLoss { best = e; bestLoss = loss }
        }
        return try experts[best].generate(prompt: prompt, maxNewTokens: maxNewTokens, stop: stop, isDone: isDone)
    }

    /// −log p(prompt[1...] | prompt) under one expert.
    static func promptLoss(_ expert: SingleModel, _ prompt: [Int32]) throws -> Double {
        guard prompt.count > 1 else { return 0 }
        let model = try LlamaModel(config: expert.config, parameters: expert.parameters, batchSize: 1,
                                   sequenceLength: prompt.count - 1, training: false, threads: expert.threads,
                                   feedForward: expert.feedForward)
        return Double(try prompt.withUnsafeBufferPointer { try model.forward(sequences: $0) })
    }

    func routing(domains: [String]) -> JSONValue? { nil }
}
