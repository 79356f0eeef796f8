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
    /// B rows of T + 1 tokens, and `top1[b·T + t]` = no token is more probable than it (the model's
    /// greedy choice). `domain` labels the batch for routing statistics.
    func targetProbabilities(_ batch: [Int32], domain: Int, into out: inout [Float], top1: inout [Bool]) throws
    /// A greedy continuation of `prompt` (stopping after `isDone` says so or at `maxNewTokens`).
    func generate(prompt: [Int32], maxNewTokens: Int, stop: Set<Int32>, isDone: ([Int32]) -> Bool) throws -> [Int32]
    /// Routing statistics gathered so far (MoE models), nil for models without a router.
    func routing(domains: [String]) -> JSONValue?
    /// Per sequence of the last batch scored, the share of its assignments that went to each expert
    /// (MoE models; see `MoERoutingStatistics.takeSequenceShares`), nil for models without a router.
    func takeSequenceRouting() -> [[Double]]?
}

extension EvaluatedModel {
    func takeSequenceRouting() -> [[Double]]? { nil }

    /// The target probabilities alone (`top1` computed and dropped).
    func targetProbabilities(_ batch: [Int32], domain: Int, into out: inout [Float]) throws {
        var top1 = [Bool](repeating: false, count: out.count)
        try targetProbabilities(batch, domain: domain, into: &out, top1: &top1)
    }
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

    func targetProbabilities(_ batch: [Int32], domain: Int, into out: inout [Float], top1: inout [Bool]) throws {
        _ = try batch.withUnsafeBufferPointer { try model.forward(sequences: $0) }
        let B = batchSize, T = sequenceLength, V = config.vocabSize
        let probs = model.logits  // probabilities after the loss
        for b in 0..<B {
            for t in 0..<T {
                let row = (b * T + t) * V, p = probs[row + Int(batch[b * (T + 1) + t + 1])]
                out[b * T + t] = p
                var beaten = false
                for v in 0..<V where probs[row + v] > p { beaten = true; break }
                top1[b * T + t] = !beaten
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

/// How a BTM ensemble weights its experts at each position, from the context so far (tokens `0...t`).
enum EnsembleWeighting {
    /// The posterior over experts given the context: uniform prior, likelihood = each expert's
    /// probability of the tokens already seen (Li et al. 2022, §4).
    case likelihood
    /// Softmax over experts of the tf-idf cosine between the context and expert e's domain
    /// (`DomainTfIdf`, profile e for expert e), divided by `temperature`. A softmax rather than
    /// normalised cosines: cosines of different domains are often close (shared tokens), and a
    /// plain normalisation would then mix almost uniformly; the temperature sets how sharp the choice is.
    case tfidf(DomainTfIdf, temperature: Double)
}

/// Branch-Train-Merge's ensemble (Li et al. 2022, §4): the experts' next-token distributions mixed
/// with per-position weights from `EnsembleWeighting` (the likelihood posterior, or tf-idf domain
/// similarity), cut to the `topK` highest-scoring experts. Generation uses the expert that best
/// explains (likelihood) or most resembles (tf-idf) the prompt.
final class EnsembleModel: EvaluatedModel {
    let experts: [SingleModel]
    let topK: Int
    let weighting: EnsembleWeighting
    private var scratch: [[Float]]
    var batchSize: Int { experts[0].batchSize }
    var sequenceLength: Int { experts[0].sequenceLength }
    var maxContext: Int { experts[0].maxContext }

    init(experts: [SingleModel], topK: Int, weighting: EnsembleWeighting = .likelihood) {
        precondition(!experts.isEmpty)
        if case let .tfidf(tfidf, _) = weighting { precondition(tfidf.profiles.count == experts.count, "one tf-idf profile per expert") }
        self.experts = experts
        self.topK = min(max(1, topK), experts.count)
        self.weighting = weighting
        scratch = experts.map { [Float](repeating: 0, count: $0.batchSize * $0.sequenceLength) }
    }

    func targetProbabilities(_ batch: [Int32], domain: Int, into out: inout [Float], top1: inout [Bool]) throws {
        for e in experts.indices { try experts[e].targetProbabilities(batch, domain: domain, into: &scratch[e], top1: &top1) }
        let B = batchSize, T = sequenceLength, E = experts.count, V = experts[0].config.vocabSize
        let distributions = experts.map { $0.model.logits }  // each expert's [B·T, V] probabilities
        // scores: log posterior (likelihood) or cosine / temperature (tf-idf) of the context 0...t
        var scores = [Double](repeating: 0, count: E), weights = [Double](repeating: 0, count: E)
        var context: DomainTfIdf.Context?
        if case let .tfidf(tfidf, _) = weighting { context = tfidf.context() }
        for b in 0..<B {
            for e in 0..<E { scores[e] = 0 }
            context?.reset()
            for t in 0..<T {
                if case let .tfidf(_, temperature) = weighting {
                    context!.add(batch[b * (T + 1) + t])
                    context!.cosines(into: &scores)
                    for e in 0..<E { scores[e] /= temperature }
                }
                Self.weights(scores, topK: topK, into: &weights)
                var p = 0.0
                for e in 0..<E { p += weights[e] * Double(scratch[e][b * T + t]) }
                out[b * T + t] = Float(p)
                top1[b * T + t] = Self.isTop1(p, row: (b * T + t) * V, vocabularySize: V, weights: weights,
                                                distributions: distributions)
                if case .likelihood = weighting {
                    for e in 0..<E { scores[e] += Foundation.log(max(Double(scratch[e][b * T + t]), 1e-30)) }
                }
            }
        }
    }

    /// True when no token's mixed probability exceeds `p` (the target's) at the position whose
    /// distributions start at `row`: the mixture Σₑ wₑ·pₑ(v), summed in the same order as the target's.
    static func isTop1(_ p: Double, row: Int, vocabularySize V: Int, weights: [Double],
                       distributions: [UnsafeBufferPointer<Float>]) -> Bool {
        for v in 0..<V {
            var q = 0.0
            for e in weights.indices where weights[e] > 0 { q += weights[e] * Double(distributions[e][row + v]) }
            if q > p { return false }
        }
        return true
    }

    /// Softmax of `scores` over its `topK` largest entries (others 0; ties to the lower index).
    static func weights(_ scores: [Double], topK: Int, into w: inout [Double]) {
        let order = scores.indices.sorted { (scores[$0], $1) > (scores[$1], $0) }
        let kept = order.prefix(topK), top = scores[order[0]]
        for e in w.indices { w[e] = 0 }
        var sum = 0.0
        for e in kept { w[e] = Foundation.exp(scores[e] - top); sum += w[e] }
        for e in kept { w[e] /= sum }
    }

    func generate(prompt: [Int32], maxNewTokens: Int, stop: Set<Int32>, isDone: ([Int32]) -> Bool) throws -> [Int32] {
        var best = 0, bestScore = -Double.infinity
        var cosines = [Double](repeating: 0, count: experts.count)
        if case let .tfidf(tfidf, _) = weighting {
            var context = tfidf.context()
            for token in prompt { context.add(token) }
            context.cosines(into: &cosines)
        }
        for (e, expert) in experts.enumerated() {
            let score: Double
            if case .tfidf = weighting { score = cosines[e] } else { score = -(try Self.promptLoss(expert, prompt)) }
            if score > bestScore { best = e; bestScore = score }
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
