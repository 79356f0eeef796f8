import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// Per-layer expert load per domain of a mixture of experts, measured at inference on each `data`
/// input's validation tokens (the routing analysis of BTX §4.3).
enum ExpertLoad {
    /// `{"domains": [...], "tokens": [layer][domain][expert], "fractions": [layer][domain][expert]}`
    /// over the first `tokens` validation tokens of each domain (windows of up to 256).
    static func measure(_ context: StageContext, config c: LlamaConfig, moe: MoEConfig, parameters: ParameterSet,
                        tokens budget: Int) throws -> JSONValue {
        let corpora = try TokenCorpus.inputs(context, name: "data")
        let T = min(256, c.maxPositionEmbeddings)
        let stats = MoERoutingStatistics(layers: c.numHiddenLayers, experts: moe.numLocalExperts, domains: corpora.count,
                                         maxRows: T)
        let runtime = MoERuntime(moe: moe, layers: c.numHiddenLayers, hiddenSize: c.hiddenSize, rows: T, training: false,
                                 statistics: stats)
        let model = try MoEParameters.model(c, runtime: runtime, parameters: parameters, batchSize: 1, sequenceLength: T,
                                            training: false, threads: context.threads)
        for (d, corpus) in corpora.enumerated() {
            stats.rowDomains.pointer.update(repeating: Int32(d), count: T)
            let ids = corpus.validation.prefix(budget).map { Int32(bitPattern: $0) }
            var start = 0
            while start < ids.count {
                let window = Array(ids[start..<min(start + T, ids.count)])
                try model.forward(appending: window, at: 0)
                start += T
            }
        }
        let counts: JSONValue = .array((0..<c.numHiddenLayers).map { l in
            .array((0..<corpora.count).map { d in
                .array((0..<moe.numLocalExperts).map { .int(Int64(stats.tokens(layer: l, expert: $0, domain: d))) })
            })
        })
        let fractions: JSONValue = .array(stats.loadFractions().map { .array($0.map { .array($0.map { .double($0) }) }) })
        return .object(["domains": .array(corpora.map { .string($0.domain) }), "tokens": counts, "fractions": fractions])
    }
}
