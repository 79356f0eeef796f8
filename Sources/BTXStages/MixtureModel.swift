import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// A mixture-of-experts model under evaluation: a `SingleModel` whose blocks are MoE layers, plus
/// the routing statistics (expert load per layer and domain) of every batch it scored.
final class MixtureModel: EvaluatedModel {
    let scoring: SingleModel
    let moe: MoEConfig
    let statistics: MoERoutingStatistics
    var batchSize: Int { scoring.batchSize }
    var sequenceLength: Int { scoring.sequenceLength }
    var maxContext: Int { scoring.maxContext }

    /// An inference MoE over `parameters` (laid out by `MoEParameters.layout`) for `domains` labels.
    init(config: LlamaConfig, moe: MoEConfig, parameters: ParameterSet, batchSize: Int, sequenceLength: Int,
         threads: Int, domains: Int) throws {
        self.moe = moe
        statistics = MoERoutingStatistics(layers: config.numHiddenLayers, experts: moe.numLocalExperts,
                                          domains: max(1, domains), maxRows: batchSize * sequenceLength,
                                          rowsPerSequence: sequenceLength)
        scoring = try SingleModel(config: config, parameters: parameters, batchSize: batchSize, sequenceLength: sequenceLength,
                                  threads: threads, feedForward: MoEParameters.feedForward(moe, statistics: statistics))
    }

    func targetProbabilities(_ batch: [Int32], domain: Int, into out: inout [Float], top1: inout [Bool]) throws {
        statistics.rowDomains.pointer.update(repeating: Int32(domain), count: statistics.rowDomains.count)
        try scoring.targetProbabilities(batch, domain: domain, into: &out, top1: &top1)
    }

    func generate(prompt: [Int32], maxNewTokens: Int, stop: Set<Int32>, isDone: ([Int32]) -> Bool) throws -> [Int32] {
        // A separate model without statistics: generation must not count in the routing analysis.
        let generator = try SingleModel(config: scoring.config, parameters: scoring.parameters, batchSize: 1,
                                        sequenceLength: 1, threads: scoring.threads,
                                        feedForward: MoEParameters.feedForward(moe))
        return try generator.generate(prompt: prompt, maxNewTokens: maxNewTokens, stop: stop, isDone: isDone)
    }

    func takeSequenceRouting() -> [[Double]]? { statistics.takeSequenceShares() }

    /// `{"experts": E, "routing": kind, "domains": [...], "tokens": [layer][domain][expert],
    /// "fractions": [layer][domain][expert]}` over the batches scored so far.
    func routing(domains: [String]) -> JSONValue? {
        let s = statistics
        let tokens: JSONValue = .array((0..<s.layers).map { l in
            .array((0..<s.domains).map { d in .array((0..<s.experts).map { .int(Int64(s.tokens(layer: l, expert: $0, domain: d))) }) })
        })
        return .object(["experts": .int(Int64(s.experts)), "routing": .string(moe.routing.rawValue),
                        "domains": .array(domains.map { .string($0) }), "tokens": tokens,
                        "fractions": .array(s.loadFractions().map { .array($0.map { .array($0.map { .double($0) }) }) })])
    }
}
