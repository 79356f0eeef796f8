import BTXPipeline
import BTXStore
import Foundation

/// One evaluated model as the report sees it (parsed from an "evaluation" manifest).
public struct ReportRow: Equatable, Sendable {
    /// Row label ("seed", "expert code", "BTX top-2", …).
    public var name: String
    /// What the row is in the BTX comparison: seed, expert, dense, btm, btx, upcycling or variant.
    public var role: String
    /// The domain an expert row was trained on.
    public var expertDomain: String?
    /// Held-out loss per domain.
    public var losses: [String: Double]
    /// Mean of the per-domain losses.
    public var averageLoss: Double
    /// Every held-out sequence's loss, per domain (and under "mixed" for the mixed-domain set), in
    /// the evaluation's order: the same sequences for every row, so the claims' bootstrap is paired.
    public var sequenceLosses: [String: [Double]]
    /// MoE rows: per domain, every held-out sequence's share of routing assignments per expert
    /// (`[sequence][expert]`, over all layers), in the same order as `sequenceLosses`.
    public var sequenceRouting: [String: [[Double]]] = [:]
    /// Held-out loss on the mixed-domain sequences (nil when not measured).
    public var mixedLoss: Double?
    /// Which sequences were scored (`EvaluateStage`'s `held_out`): rows pair only when these are equal.
    public var heldOut: JSONValue?
    /// Math exact-match accuracy (nil when not measured).
    public var mathAccuracy: Double?
    /// The downstream span task per domain (`SpanTask`): spans answered exactly, on the held-out sequences.
    public var tasks: [String: SpanScore] = [:]
    /// What each domain's task asks (`SpanTask.description`).
    public var taskDescriptions: [String: String] = [:]
    /// Training FLOPs of the model's whole lineage.
    public var flops: Double
    /// Routing: per layer, domain → fraction of its tokens sent to each expert (MoE rows only).
    public var routing: [[String: [Double]]]?
    /// Names of the experts in routing order.
    public var routingExperts: [String]
    /// The lineage's training runs (loss curves).
    public var history: TrainingHistory

    /// A row from its parts (used by tests with fake results).
    public init(name: String, role: String, expertDomain: String? = nil, losses: [String: Double], mathAccuracy: Double? = nil,
                flops: Double, routing: [[String: [Double]]]? = nil, routingExperts: [String] = [],
                history: TrainingHistory = TrainingHistory(), sequenceLosses: [String: [Double]] = [:], mixedLoss: Double? = nil) {
        self.name = name
        self.role = role
        self.expertDomain = expertDomain
        self.losses = losses
        self.averageLoss = losses.isEmpty ? .nan : losses.values.reduce(0, +) / Double(losses.count)
        self.sequenceLosses = sequenceLosses
        self.mixedLoss = mixedLoss
        self.mathAccuracy = mathAccuracy
        self.flops = flops
        self.routing = routing
        self.routingExperts = routingExperts
        self.history = history
    }

    /// Reads an "evaluation" manifest written by `EvaluateStage`.
    init(evaluation m: Manifest, input: String) throws {
        guard m.kind == "evaluation", let name = m.metadata["name"]?.stringValue else {
            throw StageError.failed("input '\(input)' is a '\(m.kind)' manifest, expected an evaluation")
        }
        var losses: [String: Double] = [:], sequences: [String: [Double]] = [:], tasks: [String: SpanScore] = [:]
        var sequenceRouting: [String: [[Double]]] = [:]
        for (domain, value) in m.metadata["domains"]?.objectValue ?? [:] {
            losses[domain] = value["loss"]?.doubleValue
            sequences[domain] = value["sequence_losses"]?.arrayValue?.compactMap(\.doubleValue)
            sequenceRouting[domain] = value["sequence_routing"]?.arrayValue?.map { ($0.arrayValue ?? []).compactMap(\.doubleValue) }
            if let task = value["task"], let correct = task["correct"]?.intValue, let total = task["total"]?.intValue {
                tasks[domain] = SpanScore(correct: correct, total: total, tokensCorrect: task["tokens_correct"]?.intValue ?? 0,
                                          tokens: task["tokens"]?.intValue ?? 0)
            }
        }
        sequences[EvaluateStage.mixedDomain] = m.metadata["mixed"]?["sequence_losses"]?.arrayValue?.compactMap(\.doubleValue)
        // routing: {"domains": [names], "fractions": [layer][domain][expert]} (see `MixtureModel.routing`).
        let routing = m.metadata["routing"]
        let routedDomains = (routing?["domains"]?.arrayValue ?? []).compactMap(\.stringValue)
        let layers = routing?["fractions"]?.arrayValue?.map { layer -> [String: [Double]] in
            var byDomain: [String: [Double]] = [:]
            for (d, row) in (layer.arrayValue ?? []).enumerated() where d < routedDomains.count {
                byDomain[routedDomains[d]] = (row.arrayValue ?? []).compactMap(\.doubleValue)
            }
            return byDomain
        }
        let expertCount = layers?.first?.values.first?.count ?? 0
        var expertNames = (m.metadata["expert_names"]?.arrayValue ?? []).compactMap(\.stringValue)
        if expertNames.count != expertCount { expertNames = (0..<expertCount).map { "e\($0)" } }
        self.init(name: name, role: m.metadata["role"]?.stringValue ?? "variant",
                  expertDomain: m.metadata["expert_domain"]?.stringValue, losses: losses,
                  mathAccuracy: m.metadata["math"]?["accuracy"]?.doubleValue,
                  flops: m.metadata["compute"]?["flops"]?.doubleValue ?? 0, routing: layers,
                  routingExperts: expertNames,
                  history: try m.metadata["history"].map(TrainingHistory.init(json:)) ?? TrainingHistory(),
                  sequenceLosses: sequences, mixedLoss: m.metadata["mixed"]?["loss"]?.doubleValue)
        heldOut = m.metadata["held_out"]
        self.sequenceRouting = sequenceRouting
        self.tasks = tasks
        taskDescriptions = (m.metadata["downstream"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }

    /// Per layer, the busiest expert's load over the mean load (1 = perfectly balanced), with the
    /// domains weighted equally.
    var loadImbalance: [Double] {
        (routing ?? []).map { layer in
            let rows = layer.filter { $0.key != EvaluateStage.mixedDomain }.map(\.value)
            guard let width = rows.first?.count, width > 0 else { return .nan }
            let load = (0..<width).map { e in rows.reduce(0) { $0 + (e < $1.count ? $1[e] : 0) } / Double(rows.count) }
            return (load.max() ?? 0) * Double(width) / max(load.reduce(0, +), 1e-12)
        }
    }

    /// Fraction of `domain`'s tokens routed to each expert, averaged over layers.
    func meanRouting(_ domain: String) -> [Double]? {
        guard let layers = routing, !layers.isEmpty else { return nil }
        let rows = layers.compactMap { $0[domain] }
        guard let width = rows.first?.count, rows.allSatisfy({ $0.count == width }) else { return nil }
        return (0..<width).map { e in rows.reduce(0) { $0 + $1[e] } / Double(rows.count) }
    }
}

/// One of the paper's claims checked against the results.
public struct Claim: Equatable, Sendable {
    /// The claim in words.
    public var statement: String
    /// Held or not held only when the 95% interval of the difference says so; inconclusive when it
    /// straddles the bound; not tested when the rows (or their per-sequence losses) are missing.
    public var decision: Verdict
    /// The numbers behind the verdict: point estimates with their intervals.
    public var evidence: String

    /// True when held, false when not held, nil when inconclusive or not tested.
    public var held: Bool? { decision == .held ? true : decision == .notHeld ? false : nil }
    /// "held", "not held", "inconclusive" or "not tested".
    public var verdict: String { decision.rawValue }
}

/// An ordering the report checks besides the paper's claims: row `better` has a lower average loss
/// than row `worse` (rows named by their labels; e.g. an ablation's "soft routing" over "BTX top-2").
public struct RowComparison: Equatable, Sendable {
    public var better: String, worse: String

    public init(better: String, worse: String) {
        self.better = better
        self.worse = worse
    }
}

/// The results of a pipeline run: rows in pipeline order, domains in data order, and the claims.
public struct ReportData: Equatable, Sendable {
    /// Report title.
    public var title: String
    /// Domains (columns), in data order.
    public var domains: [String]
    /// Evaluated models (rows).
    public var rows: [ReportRow]
    /// Orderings to check besides the claims (the report stage's `comparisons`).
    public var comparisons: [RowComparison] = []

    /// Results with the domain order given (or taken from the rows, sorted).
    public init(title: String, domains: [String]? = nil, rows: [ReportRow]) {
        self.title = title
        self.rows = rows
        self.domains = domains ?? Array(Set(rows.flatMap(\.losses.keys))).sorted()
    }

    func row(role: String) -> ReportRow? { rows.first { $0.role == role } }

    /// The domains (in column order) for which some row has a downstream task score.
    var taskDomains: [String] { domains.filter { d in rows.contains { $0.tasks[d] != nil } } }

    /// The paper's claims, each decided by a paired bootstrap over the held-out sequences.
    public var claims: [Claim] {
        [expertsSpecialise, btxBeatsBaselines, btxBeatsUpcycling, routingFollowsDomains, btxKeepsExpertGains]
    }

    /// The bootstrap the claims use (fixed seed: a report is a pure function of its evaluations).
    static let bootstrap = PairedBootstrap()

    /// The 95% interval of `statistic` over `rows`' paired sequences of `domains`; nil when a row lacks
    /// per-sequence losses or the rows did not score the same sequences.
    func interval(_ rows: [ReportRow], domains: [String], _ statistic: (PairedBootstrap.Mean) -> Double) -> Interval? {
        guard Set(rows.map { $0.heldOut?.canonicalText ?? "" }).count == 1 else { return nil }
        var sizes: [String: Int] = [:]
        for d in domains {
            let counts = Set(rows.map { $0.sequenceLosses[d]?.count ?? 0 })
            guard counts.count == 1, let n = counts.first, n > 0 else { return nil }
            sizes[d] = n
        }
        return Self.bootstrap.interval(sizes: sizes, statistic)
    }

    /// Mean over `domains` of row `a`'s loss minus row `b`'s (per-domain means from the resample).
    static func averageDifference(_ a: ReportRow, _ b: ReportRow, domains: [String]) -> (PairedBootstrap.Mean) -> Double {
        { mean in domains.reduce(0) { $0 + mean(a.sequenceLosses[$1]!, $1) - mean(b.sequenceLosses[$1]!, $1) } / Double(domains.count) }
    }

    static let noSequences = "the rows have no per-sequence losses on the same held-out sequences (rerun evaluate with equal settings)"

    /// (1) Each expert beats the seed on its own domain and is worse than that domain's expert on the others.
    var expertsSpecialise: Claim {
        let statement = "Each expert beats the seed on its own domain and is worse than the other experts on theirs."
        let experts = rows.filter { $0.role == "expert" && $0.expertDomain != nil }
        guard let seed = row(role: "seed"), !experts.isEmpty else { return Claim(statement: statement, decision: .notTested, evidence: "needs seed and expert rows") }
        var parts: [Verdict] = [], own: [String] = [], others: [String] = []
        for e in experts {
            let d = e.expertDomain!
            guard let gain = interval([e, seed], domains: [d], Self.averageDifference(e, seed, domains: [d])) else {
                return Claim(statement: statement, decision: .notTested, evidence: Self.noSequences)
            }
            parts.append(gain.below(0))
            own.append("\(e.name) \(gain.text())")
            for other in experts where other.expertDomain != d {
                let od = other.expertDomain!
                guard let worse = interval([e, other], domains: [od], Self.averageDifference(e, other, domains: [od])) else {
                    parts.append(.notTested)
                    others.append("\(e.name) on \(od): no per-sequence losses")
                    continue
                }
                parts.append(worse.above(0))
                if worse.above(0) != .held { others.append("\(e.name) on \(od) \(worse.text())") }
            }
        }
        let elsewhere = others.isEmpty ? "; every expert is worse than the domain's own expert elsewhere"
            : "; on other experts' domains, not clearly worse: " + others.joined(separator: ", ")
        return Claim(statement: statement, decision: .all(parts),
                     evidence: "own-domain loss minus seed's, 95% interval: " + own.joined(separator: "; ") + elsewhere)
    }

    /// (2) BTX beats BTM and the dense baseline on average loss.
    var btxBeatsBaselines: Claim {
        let statement = "BTX beats BTM and the compute-matched dense model on average."
        guard let btx = row(role: "btx"), let btm = row(role: "btm"), let dense = row(role: "dense") else {
            return Claim(statement: statement, decision: .notTested, evidence: "needs btx, btm and dense rows")
        }
        guard let vsBTM = interval([btx, btm], domains: domains, Self.averageDifference(btx, btm, domains: domains)),
              let vsDense = interval([btx, dense], domains: domains, Self.averageDifference(btx, dense, domains: domains)) else {
            return Claim(statement: statement, decision: .notTested, evidence: Self.noSequences)
        }
        return Claim(statement: statement, decision: .all([vsBTM.below(0), vsDense.below(0)]),
                     evidence: String(format: "average loss BTX %.3f, BTM %.3f, dense %.3f; BTX − BTM %@, BTX − dense %@",
                                      btx.averageLoss, btm.averageLoss, dense.averageLoss, vsBTM.text(), vsDense.text()))
    }

    /// (3) At matched compute BTX is at least as good as sparse upcycling.
    var btxBeatsUpcycling: Claim {
        let statement = "At matched compute BTX is at least as good as sparse upcycling on average."
        guard let btx = row(role: "btx"), let up = row(role: "upcycling") else {
            return Claim(statement: statement, decision: .notTested, evidence: "needs btx and upcycling rows")
        }
        guard let difference = interval([btx, up], domains: domains, Self.averageDifference(btx, up, domains: domains)) else {
            return Claim(statement: statement, decision: .notTested, evidence: Self.noSequences)
        }
        // Held when BTX is better beyond doubt, not held when worse beyond doubt.
        return Claim(statement: statement, decision: difference.below(0),
                     evidence: String(format: "average loss BTX %.3f (%@), upcycling %.3f (%@); BTX − upcycling %@", btx.averageLoss,
                                      Self.flops(btx.flops), up.averageLoss, Self.flops(up.flops), difference.text()))
    }

    /// (4) Each domain's tokens go mostly to that domain's expert (BTX, all layers): per domain, the
    /// own expert's share of the domain's routing assignments minus the largest other expert's share,
    /// by a bootstrap over the held-out sequences (`sequenceRouting`): held when every domain's interval
    /// lies above 0, not held when one lies below. Without per-sequence routing (evaluations before
    /// version 7), the point estimate decides and the evidence says so.
    var routingFollowsDomains: Claim {
        let statement = "Tokens of each domain are routed mostly to that domain's expert."
        guard let btx = row(role: "btx"), btx.routing != nil else { return Claim(statement: statement, decision: .notTested, evidence: "needs BTX routing") }
        var parts: [Verdict] = [], evidence: [String] = [], bootstrapped = true
        for d in domains {
            guard let e = btx.routingExperts.firstIndex(of: d), let fractions = btx.meanRouting(d) else { continue }
            let text = String(format: "%@→%@ %.0f%%", d, btx.routingExperts[e], 100 * fractions[e])
            if let margin = Self.routingMargin(btx, domain: d, expert: e) {
                parts.append(margin.above(0))
                evidence.append(text + " (own − largest other \(margin.scaled(100).text("%+.1f")) points)")
            } else {
                bootstrapped = false
                let top = fractions.indices.max { fractions[$0] < fractions[$1] }!
                parts.append(top == e ? .held : .notHeld)
                evidence.append(text)
            }
        }
        if parts.isEmpty { return Claim(statement: statement, decision: .notTested, evidence: "no expert is named after a domain") }
        return Claim(statement: statement, decision: .all(parts),
                     evidence: evidence.joined(separator: ", ") + " (uniform: \(100 / max(btx.routingExperts.count, 1))%)"
                        + (bootstrapped ? "" : "; point estimates: the evaluation has no per-sequence routing"))
    }

    /// The 95% interval, over `row`'s held-out sequences of `domain`, of expert `e`'s share of the
    /// domain's routing minus the largest share of any other expert; nil without per-sequence routing
    /// (or with a single expert, which has no other to beat).
    static func routingMargin(_ row: ReportRow, domain: String, expert e: Int) -> Interval? {
        guard let sequences = row.sequenceRouting[domain], !sequences.isEmpty,
              let width = sequences.first?.count, width > max(e, 1), sequences.allSatisfy({ $0.count == width }) else { return nil }
        let columns = (0..<width).map { j in sequences.map { $0[j] } }
        return bootstrap.interval(sizes: [domain: sequences.count]) { mean in
            let shares = columns.map { mean($0, domain) }
            return shares[e] - shares.indices.filter { $0 != e }.map { shares[$0] }.max()!
        }
    }

    /// (5) BTX keeps most (over half) of each expert's in-domain gain over the seed: decided on the
    /// linear form (seed − BTX) − ½ (seed − expert) > 0 (no ratio, so no heavy tail when the gain is
    /// small); the share kept, (seed − BTX) / (seed − expert), is the evidence. A domain whose expert
    /// does not beat the seed beyond doubt has no gain to keep: not tested there.
    var btxKeepsExpertGains: Claim {
        let statement = "BTX keeps most (over half) of each expert's in-domain gain over the seed."
        let experts = rows.filter { $0.role == "expert" && $0.expertDomain != nil }
        guard let seed = row(role: "seed"), let btx = row(role: "btx"), !experts.isEmpty else {
            return Claim(statement: statement, decision: .notTested, evidence: "needs seed, expert and btx rows")
        }
        var parts: [Verdict] = [], evidence: [String] = []
        for e in experts {
            let d = e.expertDomain!
            let rows = [seed, btx, e]
            let loss = { (row: ReportRow, mean: PairedBootstrap.Mean) in mean(row.sequenceLosses[d]!, d) }
            guard let gain = interval(rows, domains: [d], { loss(seed, $0) - loss(e, $0) }),
                  let margin = interval(rows, domains: [d], { loss(seed, $0) - loss(btx, $0) - 0.5 * (loss(seed, $0) - loss(e, $0)) })
            else { return Claim(statement: statement, decision: .notTested, evidence: Self.noSequences) }
            guard gain.above(0) == .held else {
                parts.append(.notTested)
                evidence.append("\(d): the expert's gain over the seed \(gain.text()) is not clearly positive")
                continue
            }
            parts.append(margin.above(0))
            let kept = (seed.losses[d]! - btx.losses[d]!) / (seed.losses[d]! - e.losses[d]!)
            evidence.append(String(format: "%@: %.2f of the gain kept; kept − ½·gain %@", d, kept, margin.text()))
        }
        return Claim(statement: statement, decision: .all(parts),
                     evidence: "share of each expert's gain over the seed that BTX keeps, and the 95% interval of the loss kept minus half the gain: "
                        + evidence.joined(separator: "; "))
    }

    /// Each of `comparisons`, decided like the loss claims: held when the 95% interval of `better`'s
    /// average loss minus `worse`'s lies below 0, not held when above, else inconclusive.
    var comparisonClaims: [Claim] {
        comparisons.map { c in
            let statement = "\(c.better) beats \(c.worse) on average."
            guard let better = rows.first(where: { $0.name == c.better }), let worse = rows.first(where: { $0.name == c.worse }) else {
                return Claim(statement: statement, decision: .notTested, evidence: "needs rows named '\(c.better)' and '\(c.worse)'")
            }
            guard let difference = interval([better, worse], domains: domains, Self.averageDifference(better, worse, domains: domains)) else {
                return Claim(statement: statement, decision: .notTested, evidence: Self.noSequences)
            }
            return Claim(statement: statement, decision: difference.below(0),
                         evidence: String(format: "average loss %.3f against %.3f; difference %@", better.averageLoss, worse.averageLoss, difference.text()))
        }
    }

    /// FLOPs in a short human unit ("1.2 PFLOP").
    static func flops(_ x: Double) -> String {
        for (unit, scale) in [("EFLOP", 1e18), ("PFLOP", 1e15), ("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6)] where x >= scale {
            return String(format: "%.2f %@", x / scale, unit)
        }
        return String(format: "%.0f FLOP", x)
    }
}
