import BTXStore
import Foundation

/// The report's loss curves as data: one panel per comparison, each series a training run placed on
/// the compute axis where it starts in its model's lineage, so that curves are compared at matched
/// tokens and FLOPs rather than at "fraction of each run".
struct ReportCurves: Equatable {
    /// One point of a curve: cumulative tokens and FLOPs of the lineage at that step, and the loss.
    struct Point: Equatable { var tokens: Double, flops: Double, loss: Double }
    /// One curve.
    struct Series: Equatable { var label: String, points: [Point] }
    /// One chart's worth of curves.
    struct Panel: Equatable { var id: String, title: String, series: [Series] }

    /// The panels that have curves: seed → experts, then the final models at matched compute.
    var panels: [Panel]

    /// Roles of the rows compared in the matched-compute panel (BTM has no training of its own).
    static let comparedRoles = ["dense", "btx", "upcycling", "variant"]

    init(_ data: ReportData) {
        var branch = Panel(id: "seed-experts", title: "Seed → experts (each expert continues from the seed)", series: [])
        var seen = Set<String>()
        for row in data.rows where row.role == "seed" || row.role == "expert" {
            for (i, run) in row.history.runs.enumerated() where seen.insert(run.stage).inserted {
                branch.series.append(Self.series(run.stage, run, after: Array(row.history.runs[..<i])))
            }
        }
        var compared = Panel(id: "matched-compute", title: "BTX vs dense vs upcycling and the ablations, at matched compute",
                             series: [])
        for row in data.rows where Self.comparedRoles.contains(row.role) {
            guard let last = row.history.runs.last else { continue }
            // NOTE: the lineage before the last run counts every expert, trained in parallel, in sequence:
            // the x offset is the compute spent before this model's own training, as the FLOPs column counts it.
            compared.series.append(Self.series(row.name, last, after: Array(row.history.runs.dropLast())))
        }
        panels = [branch, compared].map { panel in
            var panel = panel
            panel.series.removeAll { $0.points.isEmpty }
            return panel
        }.filter { !$0.series.isEmpty }
    }

    /// `run`'s curve shifted by the tokens and FLOPs of the runs `before` it.
    private static func series(_ label: String, _ run: TrainingHistory.Run, after before: [TrainingHistory.Run]) -> Series {
        let tokens0 = Double(before.reduce(0) { $0 + $1.tokens }), flops0 = before.reduce(0) { $0 + $1.flops }
        let steps = Double(max(1, run.steps))
        let points = run.curve.filter { $0.count == 2 && $0[1].isFinite }.map { p in
            // curve x is the 0-based step index: the loss of step s is measured after s + 1 steps of data.
            let done = (p[0] + 1) / steps
            return Point(tokens: tokens0 + done * Double(run.tokens), flops: flops0 + done * run.flops, loss: p[1])
        }
        return Series(label: label, points: points)
    }

    /// The panels as JSON for report.json.
    var json: JSONValue {
        .array(panels.map { panel in
            .object(["id": .string(panel.id), "title": .string(panel.title), "series": .array(panel.series.map { s in
                .object(["label": .string(s.label),
                         "tokens": .array(s.points.map { .double($0.tokens) }),
                         "flops": .array(s.points.map { .double($0.flops) }),
                         "loss": .array(s.points.map { .double($0.loss) })])
            })])
        })
    }
}
