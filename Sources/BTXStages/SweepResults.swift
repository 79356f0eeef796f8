import BTXPipeline
import BTXStore
import Foundation

/// The regime sweep's results: per configuration (a sweep point), whether each domain's expert beats
/// the compute-matched dense model on its own domain, and how much of each expert's gain over the seed
/// the MoE keeps after its finetune (BTX) and before it (the plain mix). Read from dev evaluations
/// labelled with their `grid_point`; every comparison is a paired bootstrap over the same sequences.
struct SweepResults: Equatable {
    /// One configuration: its name (the `grid_point` of its BTX row), the `grid_point` of its experts
    /// and their mix (several points may share them, e.g. to vary the finetune), that of the dense
    /// model matched to its compute, and that of the seed its experts branched from ("": the one seed
    /// every point of the pipeline's own model shares; a point of another model size names its own).
    struct Point: Equatable {
        var name: String
        var experts: String
        var dense: String
        var seed: String = ""
    }

    /// What one point shows on one domain.
    struct DomainResult: Equatable {
        /// The expert's own-domain loss minus the dense model's (below 0: the expert is better).
        var expertMinusDense: Interval
        /// The expert's gain over the seed on its domain (seed − expert).
        var gain: Interval
        /// Share of that gain BTX keeps, (seed − BTX) / (seed − expert), and the interval of the loss
        /// kept minus half the gain (above 0: over half kept).
        var btxKept: Double, btxMargin: Interval
        /// The same for the mix before its finetune.
        var mixKept: Double, mixMargin: Interval

        /// Over half of a gain that is itself beyond doubt is kept, beyond doubt (as the report's claim 5).
        var btxKeepsMost: Bool { gain.above(0) == .held && btxMargin.above(0) == .held }
    }

    /// One point's results, its BTX model's training compute and tokens (whole lineage) and average
    /// dev loss.
    struct PointResult: Equatable {
        var point: Point
        var flops: Double, tokens: Int
        var btxAverageLoss: Double
        var domains: [String: DomainResult]

        /// Every expert beats the dense model on its own domain beyond doubt.
        var expertsPay: Bool { domains.values.allSatisfy { $0.expertMinusDense.below(0) == .held } }
        /// BTX keeps over half of every expert's gain beyond doubt (each gain itself beyond doubt).
        var btxKeepsMost: Bool { domains.values.allSatisfy(\.btxKeepsMost) }
    }

    var domains: [String]
    var points: [PointResult]

    /// The `points` param: a list of `{name, experts (default: name), dense, seed (default: "")}` (other
    /// fields, such as the training settings a pipeline keeps beside them, are ignored).
    static func points(_ p: StageParams) throws -> [Point] {
        let list = try p.array("points", example: [["name": "e150-lr1e-3", "dense": "e150"], ["name": "e450-lr1e-3", "dense": "e450"]])
        let points = try list.map { item -> Point in
            guard let name = item["name"]?.stringValue, let dense = item["dense"]?.stringValue, !name.isEmpty, !dense.isEmpty,
                  item["experts"] == nil || item["experts"]?.stringValue?.isEmpty == false,
                  item["seed"] == nil || item["seed"]?.stringValue != nil else {
                throw StageError.badParameter(field: "points", expected: "a list of {name: TEXT, experts: TEXT (optional), dense: TEXT, seed: TEXT (optional)} (grid points of the BTX row, of the experts and mix, of the dense row, of the seed row)",
                                              actual: item.canonicalText)
            }
            return Point(name: name, experts: item["experts"]?.stringValue ?? name, dense: dense, seed: item["seed"]?.stringValue ?? "")
        }
        guard !points.isEmpty, Set(points.map(\.name)).count == points.count else {
            throw StageError.badParameter(field: "points", expected: "at least one point, with distinct names", actual: JSONValue.array(list).canonicalText)
        }
        return points
    }

    /// The results of `points` from dev evaluations (`input` names each for errors): the seed rows the
    /// points name (the shared one without a grid point), per point one expert row per domain, a mix
    /// row (role variant) and a BTX row, and the dense rows the points name.
    init(points: [Point], evaluations: [(manifest: Manifest, input: String)]) throws {
        var byPoint: [String: [ReportRow]] = [:], seeds: [String: ReportRow] = [:], domains: [String]?
        for (m, input) in evaluations {
            let row = try ReportRow(evaluation: m, input: input)
            guard m.metadata["split"]?.stringValue == HeldOutSplit.dev.rawValue else {
                throw StageError.failed("input '\(input)' (\(row.name)) was scored on the \(m.metadata["split"]?.stringValue ?? "test") split: the sweep chooses on the dev split only (evaluate with split: dev)")
            }
            domains = domains ?? m.metadata["domain_order"]?.arrayValue?.compactMap(\.stringValue)
            let point = m.metadata["grid_point"]?.stringValue ?? ""
            if row.role == "seed" {
                guard seeds[point] == nil else {
                    throw StageError.failed("input '\(input)': a seed row at grid_point '\(point)' is scored twice")
                }
                seeds[point] = row
            } else if point.isEmpty {
                throw StageError.failed("input '\(input)' (\(row.name)) has no grid_point: only a seed row may belong to every point")
            } else {
                if byPoint[point, default: []].contains(where: { $0.role == row.role && $0.expertDomain == row.expertDomain }) {
                    throw StageError.failed("input '\(input)': a \(row.role) row\(row.expertDomain.map { " of \($0)" } ?? "") at grid_point '\(point)' is scored twice")
                }
                for d in row.losses.keys where row.sequenceLosses[d] == nil {
                    throw StageError.failed("input '\(input)' (\(row.name)) has no per-sequence losses of \(d) (rerun evaluate)")
                }
                byPoint[point, default: []].append(row)
            }
        }
        let order = domains ?? (seeds[""] ?? seeds.min { $0.key < $1.key }?.value)?.losses.keys.sorted() ?? []
        self.domains = order
        self.points = try points.map { p in
            guard let seed = seeds[p.seed] else {
                throw StageError.failed("sweep point '\(p.name)' needs its seed's dev evaluation (role seed, "
                                        + (p.seed.isEmpty ? "no grid_point)" : "grid_point '\(p.seed)')"))
            }
            func find(_ role: String, _ domain: String? = nil, at point: String) throws -> ReportRow {
                guard let row = byPoint[point]?.first(where: { $0.role == role && (domain == nil || $0.expertDomain == domain) }) else {
                    throw StageError.failed("sweep point '\(p.name)' has no \(role) row\(domain.map { " for domain \($0)" } ?? "") with grid_point '\(point)' among the results")
                }
                return row
            }
            guard let dense = byPoint[p.dense]?.first(where: { $0.role == "dense" }) else {
                throw StageError.failed("sweep point '\(p.name)': no dense row with grid_point '\(p.dense)' among the results")
            }
            let btx = try find("btx", at: p.name), mix = try find("variant", at: p.experts)
            var results: [String: DomainResult] = [:]
            for d in order {
                results[d] = try Self.domain(d, seed: seed, expert: try find("expert", d, at: p.experts), dense: dense, btx: btx, mix: mix, point: p.name)
            }
            return PointResult(point: p, flops: btx.flops, tokens: btx.history.tokens, btxAverageLoss: btx.averageLoss, domains: results)
        }
    }

    /// One domain of one point, by the report's paired bootstrap.
    static func domain(_ d: String, seed: ReportRow, expert: ReportRow, dense: ReportRow, btx: ReportRow, mix: ReportRow,
                       point: String) throws -> DomainResult {
        let rows = [seed, expert, dense, btx, mix]
        for row in rows where row.losses[d] == nil || row.sequenceLosses[d] == nil {
            throw StageError.failed("sweep point '\(point)': \(row.name) has no dev loss of \(d)")
        }
        let data = ReportData(title: "", domains: [d], rows: rows)
        let loss = { (row: ReportRow, mean: PairedBootstrap.Mean) in mean(row.sequenceLosses[d]!, d) }
        func interval(_ statistic: @escaping (PairedBootstrap.Mean) -> Double) throws -> Interval {
            guard let i = data.interval(rows, domains: [d], statistic) else {
                throw StageError.failed("sweep point '\(point)': the rows did not score the same dev sequences of \(d) (evaluate every row with the same settings)")
            }
            return i
        }
        let gain = try interval { loss(seed, $0) - loss(expert, $0) }
        let kept = { (row: ReportRow) in (seed.losses[d]! - row.losses[d]!) / (seed.losses[d]! - expert.losses[d]!) }
        return DomainResult(expertMinusDense: try interval { loss(expert, $0) - loss(dense, $0) }, gain: gain,
                            btxKept: kept(btx), btxMargin: try interval { loss(seed, $0) - loss(btx, $0) - 0.5 * (loss(seed, $0) - loss(expert, $0)) },
                            mixKept: kept(mix), mixMargin: try interval { loss(seed, $0) - loss(mix, $0) - 0.5 * (loss(seed, $0) - loss(expert, $0)) })
    }
}
