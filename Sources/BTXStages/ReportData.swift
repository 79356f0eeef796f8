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
    /// Math exact-match accuracy (nil when not measured).
    public var mathAccuracy: Double?
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
                history: TrainingHistory = TrainingHistory()) {
        self.name = name
        self.role = role
        self.expertDomain = expertDomain
        self.losses = losses
        self.averageLoss = losses.isEmpty ? .nan : losses.values.reduce(0, +) / Double(losses.count)
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
        var losses: [String: Double] = [:]
        for (domain, value) in m.metadata["domains"]?.objectValue ?? [:] { losses[domain] = value["loss"]?.doubleValue }
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
                  history: try m.metadata["history"].map(TrainingHistory.init(json:)) ?? TrainingHistory())
    }

    /// Per layer, the busiest expert's load over the mean load (1 = perfectly balanced), with the
    /// domains weighted equally.
    var loadImbalance: [Double] {
        (routing ?? []).map { layer in
            let rows = Array(layer.values)
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
    /// Held, not held, or nil when the rows it needs are missing.
    public var held: Bool?
    /// The numbers behind the verdict.
    public var evidence: String

    /// "held", "not held" or "not tested".
    public var verdict: String { held.map { $0 ? "held" : "not held" } ?? "not tested" }
}

/// The results of a pipeline run: rows in pipeline order, domains in data order, and the claims.
public struct ReportData: Equatable, Sendable {
    /// Report title.
    public var title: String
    /// Domains (columns), in data order.
    public var domains: [String]
    /// Evaluated models (rows).
    public var rows: [ReportRow]

    /// Results with the domain order given (or taken from the rows, sorted).
    public init(title: String, domains: [String]? = nil, rows: [ReportRow]) {
        self.title = title
        self.rows = rows
        self.domains = domains ?? Array(Set(rows.flatMap(\.losses.keys))).sorted()
    }

    func row(role: String) -> ReportRow? { rows.first { $0.role == role } }

    /// The paper's four claims, each marked from the numbers.
    public var claims: [Claim] { [expertsSpecialise, btxBeatsBaselines, btxBeatsUpcycling, routingFollowsDomains] }

    /// (1) Each expert beats the seed on its own domain and is worse than that domain's expert on the others.
    var expertsSpecialise: Claim {
        let statement = "Each expert beats the seed on its own domain and is worse than the other experts on theirs."
        let experts = rows.filter { $0.role == "expert" && $0.expertDomain != nil }
        guard let seed = row(role: "seed"), !experts.isEmpty else { return Claim(statement: statement, held: nil, evidence: "needs seed and expert rows") }
        var held = true, parts: [String] = []
        for e in experts {
            let d = e.expertDomain!
            guard let own = e.losses[d], let base = seed.losses[d] else { continue }
            held = held && own < base
            parts.append(String(format: "%@: %.3f vs seed %.3f", e.name, own, base))
            for other in experts where other.expertDomain != d {
                let od = other.expertDomain!
                guard let mine = e.losses[od], let theirs = other.losses[od] else { continue }
                held = held && mine > theirs
            }
        }
        return Claim(statement: statement, held: held, evidence: "own-domain loss " + parts.joined(separator: "; "))
    }

    /// (2) BTX beats BTM and the dense baseline on average loss.
    var btxBeatsBaselines: Claim {
        let statement = "BTX beats BTM and the compute-matched dense model on average."
        guard let btx = row(role: "btx"), let btm = row(role: "btm"), let dense = row(role: "dense") else {
            return Claim(statement: statement, held: nil, evidence: "needs btx, btm and dense rows")
        }
        return Claim(statement: statement, held: btx.averageLoss < btm.averageLoss && btx.averageLoss < dense.averageLoss,
                     evidence: String(format: "average loss BTX %.3f, BTM %.3f, dense %.3f", btx.averageLoss, btm.averageLoss, dense.averageLoss))
    }

    /// (3) At matched compute BTX is at least as good as sparse upcycling.
    var btxBeatsUpcycling: Claim {
        let statement = "At matched compute BTX is at least as good as sparse upcycling on average."
        guard let btx = row(role: "btx"), let up = row(role: "upcycling") else {
            return Claim(statement: statement, held: nil, evidence: "needs btx and upcycling rows")
        }
        return Claim(statement: statement, held: btx.averageLoss <= up.averageLoss,
                     evidence: String(format: "average loss BTX %.3f (%@), upcycling %.3f (%@)", btx.averageLoss,
                                      Self.flops(btx.flops), up.averageLoss, Self.flops(up.flops)))
    }

    /// (4) Each domain's tokens go mostly to that domain's expert (BTX, averaged over layers).
    var routingFollowsDomains: Claim {
        let statement = "Tokens of each domain are routed mostly to that domain's expert."
        guard let btx = row(role: "btx"), btx.routing != nil else { return Claim(statement: statement, held: nil, evidence: "needs BTX routing") }
        var held = true, parts: [String] = []
        for d in domains {
            guard let e = btx.routingExperts.firstIndex(of: d), let fractions = btx.meanRouting(d) else { continue }
            let top = fractions.indices.max { fractions[$0] < fractions[$1] }!
            held = held && top == e
            parts.append(String(format: "%@→%@ %.0f%%", d, btx.routingExperts[e], 100 * fractions[e]))
        }
        if parts.isEmpty { return Claim(statement: statement, held: nil, evidence: "no expert is named after a domain") }
        return Claim(statement: statement, held: held, evidence: parts.joined(separator: ", "))
    }

    /// FLOPs in a short human unit ("1.2 PFLOP").
    static func flops(_ x: Double) -> String {
        for (unit, scale) in [("EFLOP", 1e18), ("PFLOP", 1e15), ("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6)] where x >= scale {
            return String(format: "%.2f %@", x / scale, unit)
        }
        return String(format: "%.0f FLOP", x)
    }
}
