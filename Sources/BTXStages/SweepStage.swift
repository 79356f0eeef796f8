import BTXPipeline
import BTXStore
import Foundation

/// `sweep`: the regime where specialisation pays. Inputs `results`: dev evaluations of every sweep
/// point's experts, mix (before its finetune) and BTX model, of the dense model matched to each point's
/// compute, and of each seed the points branch from (`SweepResults`; a test-split evaluation is refused).
/// Param `points`: `{name, experts, dense, seed}` per configuration. Output: a "report" manifest (`report.md`, `report.html` with the
/// sweep's plot, `report.json`; `btxpipe report` prints it) saying per point and domain whether the
/// expert beats dense and how much of its gain BTX keeps (pipelines/sweep.yaml).
struct SweepStage: StageKind {
    static let name = "sweep"
    static let version = 2
    static let summary = "per configuration: do the experts beat dense on their domains, and does BTX keep their gain (dev split)"

    func validate(_ params: StageParams) throws {
        _ = try params.string("title", default: "Sweep")
        _ = try SweepResults.points(params)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let results = context.inputList("results")
        guard !results.isEmpty else { throw StageError.missingInput(name: "results") }
        let sweep = try SweepResults(points: try SweepResults.points(context.params),
                                     evaluations: results.enumerated().map { ($1, "results.\($0)") })
        let title = try context.params.string("title", default: "Sweep")
        for line in Self.table(sweep) { context.log(line) }
        var objects: [String: ObjectHash] = [:]
        objects["report.md"] = try context.store.putObject(Data(Self.markdown(sweep, title: title).utf8))
        objects["report.html"] = try context.store.putObject(Data(Self.html(sweep, title: title).utf8))
        objects["report.json"] = try context.store.putObject(Self.json(sweep, title: title).canonicalData)
        let paying = sweep.points.filter { $0.expertsPay && $0.btxKeepsMost }.map { JSONValue.string($0.point.name) }
        return Manifest(kind: "report", objects: objects, metadata: ["title": .string(title), "points": .int(Int64(sweep.points.count)),
                                                                    "experts_pay_and_btx_keeps_most": .array(paying)])
    }

    /// How the table is read.
    static let note = "Dev split (held-out documents disjoint from the report's test tokens), nats/token. Expert − dense: the "
        + "expert's loss on its own domain minus the compute-matched dense model's (below 0: the expert is better). Kept: the "
        + "share of the expert's gain over the seed it branched from (each model size has its own) that the MoE keeps, after its finetune (BTX) and before it (mix); "
        + "brackets: 95% paired-bootstrap interval; \u{2713}: beyond doubt (expert better than dense; over half kept)."

    static let header = ["point", "compute (BTX)", "domain", "expert − dense", "BTX keeps", "mix keeps (before finetune)"]

    /// " ✓" when `sure`, else nothing: the mark of a result beyond doubt in the table and the text plot.
    static func mark(_ sure: Bool) -> String { sure ? " \u{2713}" : "" }

    /// One row of cells per point and domain (the point's name and compute on its first row).
    static func cells(_ sweep: SweepResults) -> [[String]] {
        sweep.points.flatMap { p in
            sweep.domains.enumerated().map { i, d in
                let r = p.domains[d]!
                return [i == 0 ? p.point.name : "", i == 0 ? ReportData.flops(p.flops) : "", d,
                        r.expertMinusDense.text() + mark(r.expertMinusDense.below(0) == .held),
                        String(format: "%.2f", r.btxKept) + mark(r.btxKeepsMost),
                        String(format: "%.2f", r.mixKept) + mark(r.mixMargin.above(0) == .held)]
            }
        }
    }

    /// The Markdown table, then each point's verdict.
    static func table(_ sweep: SweepResults) -> [String] {
        ReportRenderer.markdownRows(header: header, cells(sweep)) + [""] + sweep.points.map { p in
            "- \(p.point.name): experts beat dense on \(p.domains.values.filter { $0.expertMinusDense.below(0) == .held }.count)/\(sweep.domains.count) domains; "
                + "BTX keeps over half the gain on \(p.domains.values.filter(\.btxKeepsMost).count)/\(sweep.domains.count)"
                + String(format: "; BTX's average dev loss %.4f", p.btxAverageLoss)
                + (p.expertsPay && p.btxKeepsMost ? " — specialisation pays and survives the merge" : "")
        }
    }

    static func markdown(_ sweep: SweepResults, title: String) -> String {
        (["# \(title)", "", note, ""] + table(sweep) + ["", "```"] + textChart(sweep) + ["```"]).joined(separator: "\n") + "\n"
    }

    /// The plot as text (for a README or a terminal): per point and domain, the expert's margin over
    /// dense and the share of its gain BTX keeps, as bars around their thresholds (0 and ½), each
    /// marked ✓ when beyond doubt.
    static func textChart(_ sweep: SweepResults) -> [String] {
        let width = 16
        func bar(_ value: Double, scale: Double) -> String {
            let cells = value.isFinite ? Int((min(max(value / scale, -1), 1) * Double(width / 2)).rounded()) : 0
            let left = String(repeating: " ", count: width / 2 - max(-cells, 0)) + String(repeating: "#", count: max(-cells, 0))
            return left + "|" + String(repeating: "#", count: max(cells, 0)) + String(repeating: " ", count: width / 2 - max(cells, 0))
        }
        let scale = max(sweep.points.flatMap { $0.domains.values.map { abs($0.expertMinusDense.point) } }.filter(\.isFinite).max() ?? 1, 1e-9)
        let nameWidth = max(sweep.points.map(\.point.name.count).max() ?? 0, 5), domainWidth = max(sweep.domains.map(\.count).max() ?? 0, 6)
        let pad = { (text: String, n: Int) in text + String(repeating: " ", count: max(0, n - text.count)) }
        var lines = [pad("point", nameWidth) + "  " + pad("domain", domainWidth) + "  " + pad("expert − dense (< 0: expert better)", 2 * width + 10)
                        + "  BTX keeps (| = half of the gain)"]
        for p in sweep.points {
            for (i, d) in sweep.domains.enumerated() {
                guard let r = p.domains[d] else { continue }
                let margin = bar(r.expertMinusDense.point, scale: scale) + String(format: " %+.3f", r.expertMinusDense.point)
                    + mark(r.expertMinusDense.below(0) == .held)
                let kept = bar(r.btxKept - 0.5, scale: 0.5) + String(format: " %.2f", r.btxKept) + mark(r.btxKeepsMost)
                lines.append(pad(i == 0 ? p.point.name : "", nameWidth) + "  " + pad(d, domainWidth) + "  " + pad(margin, 2 * width + 10) + "  " + kept)
            }
        }
        return lines
    }

    static func html(_ sweep: SweepResults, title: String) -> String {
        let e = ReportRenderer.escape
        let body = "<h1>\(e(title))</h1>\n<p>\(e(note))</p>\n<div class=\"panel\">\n"
            + chart(sweep, name: "expert-minus-dense", title: "expert − dense on its own domain (< 0: expert better)", reference: 0) {
                ($0.expertMinusDense.point, $0.expertMinusDense.low, $0.expertMinusDense.high)
            }
            + chart(sweep, name: "share-kept", title: "share of the expert's gain BTX keeps (hollow: before finetune)", reference: 0.5,
                    hollow: { $0.mixKept }) { ($0.btxKept, $0.btxKept, $0.btxKept) }
            + "</div>\n" + ReportRenderer.htmlRows(header: header, cells(sweep))
        return ReportRenderer.page(title: title, body: body)
    }

    /// A dot-and-whisker chart: one column per point, one coloured dot per domain (whisker: its
    /// interval), a dashed line at `reference`; `hollow` adds a second, hollow dot per domain.
    static func chart(_ sweep: SweepResults, name: String, title: String, reference: Double,
                      hollow: ((SweepResults.DomainResult) -> Double)? = nil,
                      _ value: (SweepResults.DomainResult) -> (point: Double, low: Double, high: Double)) -> String {
        let W = 520.0, H = 280.0, left = 56.0, bottom = 60.0, top = 24.0
        var ys = [reference]
        for p in sweep.points { for r in p.domains.values { let v = value(r); ys += [v.low, v.high] + (hollow.map { [$0(r)] } ?? []) } }
        let finite = ys.filter(\.isFinite)
        let low = finite.min() ?? 0, high = max(finite.max() ?? 1, low + 1e-6), pad = (high - low) * 0.08
        let yOf = { (y: Double) in top + (H - top - bottom) * (1 - (min(max(y, low - pad), high + pad) - (low - pad)) / (high - low + 2 * pad)) }
        let column = (W - left - 10) / Double(max(sweep.points.count, 1))
        let f = { (x: Double) in String(format: "%.1f", x) }
        var svg = "<svg class=\"chart\" data-chart=\"sweep-\(name)\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\">\n"
        svg += "<text x=\"\(f(left))\" y=\"14\" font-size=\"12\">\(ReportRenderer.escape(title))</text>\n"
        svg += "<line x1=\"\(f(left))\" x2=\"\(f(W - 10))\" y1=\"\(f(yOf(reference)))\" y2=\"\(f(yOf(reference)))\" stroke=\"#888\" stroke-dasharray=\"4,3\"/>\n"
        for y in [low, high] {
            svg += "<text x=\"\(f(left - 4))\" y=\"\(f(yOf(y) + 4))\" font-size=\"10\" text-anchor=\"end\">\(String(format: "%.3g", y))</text>\n"
        }
        for (i, p) in sweep.points.enumerated() {
            let center = left + column * (Double(i) + 0.5)
            svg += "<text x=\"\(f(center))\" y=\"\(f(H - bottom + 16))\" font-size=\"10\" text-anchor=\"middle\">\(ReportRenderer.escape(p.point.name))</text>\n"
            for (j, d) in sweep.domains.enumerated() {
                guard let r = p.domains[d] else { continue }
                let x = center + (Double(j) - Double(sweep.domains.count - 1) / 2) * min(14, column / Double(sweep.domains.count + 1))
                let v = value(r), color = ReportCharts.color(j, of: sweep.domains.count)
                if v.low != v.high {
                    svg += "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(yOf(v.low)))\" y2=\"\(f(yOf(v.high)))\" stroke=\"\(color)\"/>\n"
                }
                svg += "<circle cx=\"\(f(x))\" cy=\"\(f(yOf(v.point)))\" r=\"3.5\" fill=\"\(color)\"/>\n"
                if let hollow {
                    svg += "<circle cx=\"\(f(x))\" cy=\"\(f(yOf(hollow(r))))\" r=\"3.5\" fill=\"none\" stroke=\"\(color)\"/>\n"
                }
            }
        }
        for (j, d) in sweep.domains.enumerated() {
            let x = left + Double(j) * 110
            svg += "<circle cx=\"\(f(x))\" cy=\"\(f(H - 14))\" r=\"4\" fill=\"\(ReportCharts.color(j, of: sweep.domains.count))\"/>"
                + "<text x=\"\(f(x + 8))\" y=\"\(f(H - 10))\" font-size=\"11\">\(ReportRenderer.escape(d))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func json(_ sweep: SweepResults, title: String) -> JSONValue {
        let interval = { (i: Interval) -> JSONValue in ["point": .double(i.point), "low": .double(i.low), "high": .double(i.high)] }
        let points: [JSONValue] = sweep.points.map { p in
            var domains: [String: JSONValue] = [:]
            for (d, r) in p.domains {
                domains[d] = ["expert_minus_dense": interval(r.expertMinusDense), "expert_gain": interval(r.gain),
                              "btx_kept": .double(r.btxKept), "btx_kept_minus_half_gain": interval(r.btxMargin),
                              "mix_kept": .double(r.mixKept), "mix_kept_minus_half_gain": interval(r.mixMargin)]
            }
            return ["name": .string(p.point.name), "experts": .string(p.point.experts), "dense": .string(p.point.dense),
                    "seed": .string(p.point.seed), "flops": .double(p.flops),
                    "tokens": .int(Int64(p.tokens)), "domains": .object(domains),
                    "btx_average_loss": .double(p.btxAverageLoss), "experts_pay": .bool(p.expertsPay), "btx_keeps_most": .bool(p.btxKeepsMost)]
        }
        return ["title": .string(title), "note": .string(note), "domains": .array(sweep.domains.map { .string($0) }), "points": .array(points)]
    }
}
