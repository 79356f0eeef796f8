import BTXStore
import Foundation

/// Renders `ReportData` as Markdown, as one self-contained HTML page (inline SVG, no external assets)
/// and as JSON. Pure functions of the data, so a report is tested from fake results.
public enum ReportRenderer {
    /// One table cell: its text and whether it is the best loss of its column.
    struct Cell { var text: String, best = false }

    /// The results table's header and cells, from the data (both the Markdown and the HTML table).
    static func cells(_ data: ReportData) -> (header: [String], rows: [[Cell]]) {
        let mixed = data.rows.contains { $0.mixedLoss != nil }
        let taskDomains = data.taskDomains
        let header = ["model"] + data.domains + ["average"] + (mixed ? ["mixed-domain"] : []) + taskDomains.map { "\($0) task top-1 / exact" }
            + ["math acc.", "compute"]
        var best: [String: Double] = [:], bestTask: [String: Double] = [:]
        for d in data.domains { best[d] = data.rows.compactMap { $0.losses[d] }.min() }
        for d in taskDomains { bestTask[d] = data.rows.compactMap { $0.tasks[d]?.tokenAccuracy }.filter { $0 > 0 }.max() }
        let bestMixed = data.rows.compactMap(\.mixedLoss).min()
        let rows = data.rows.map { row -> [Cell] in
            let losses = data.domains.map { d -> Cell in
                guard let loss = row.losses[d] else { return Cell(text: "–") }
                return Cell(text: String(format: "%.3f", loss), best: loss == best[d])
            }
            let math = row.mathAccuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "–"
            let mixedCell = row.mixedLoss.map { Cell(text: String(format: "%.3f", $0), best: $0 == bestMixed) } ?? Cell(text: "–")
            let tasks = taskDomains.map { d in
                row.tasks[d].map { Cell(text: String(format: "%.1f%% / %.1f%%", 100 * $0.tokenAccuracy, 100 * $0.accuracy),
                                        best: $0.tokenAccuracy == bestTask[d]) } ?? Cell(text: "–")
            }
            return [Cell(text: row.name)] + losses + [Cell(text: String(format: "%.3f", row.averageLoss))]
                + (mixed ? [mixedCell] : []) + tasks + [Cell(text: math), Cell(text: ReportData.flops(row.flops))]
        }
        return (header, rows)
    }

    /// The results table as Markdown rows (header, rule, one line per model).
    public static func table(_ data: ReportData) -> [String] {
        let (header, rows) = cells(data)
        return ["| " + header.joined(separator: " | ") + " |", "|" + header.map { _ in "---" }.joined(separator: "|") + "|"]
            + rows.map { "| " + $0.map { $0.best ? "**\($0.text)**" : $0.text }.joined(separator: " | ") + " |" }
    }

    /// What the "<domain> task" columns measure, one sentence (empty when no row has a task).
    static func taskNote(_ data: ReportData) -> String {
        let domains = data.taskDomains
        guard !domains.isEmpty else { return "" }
        let descriptions = domains.map { d -> String in
            let description = data.rows.lazy.compactMap { $0.taskDescriptions[d] }.first ?? "?"
            let score = data.rows.lazy.compactMap { $0.tasks[d] }.first ?? SpanScore()
            return "\(d): \(description) (\(score.total) spans, \(score.tokens) tokens)"
        }
        return "Task columns: on the same held-out sequences as the loss, the spans after a marker, each token scored given "
            + "the true text before it: top-1 = share of span tokens that are the model's most probable token, exact = share "
            + "of spans with every token right (higher is better): " + descriptions.joined(separator: "; ") + "."
    }

    /// How the verdicts are decided (printed above the claims).
    static let claimsNote = "Each verdict comes from a paired bootstrap over the held-out sequences (2,000 resamples, "
        + "stratified by domain): held or not held only when the 95% interval of the difference is on one side; inconclusive otherwise."

    /// The claims as Markdown list items.
    public static func claimLines(_ data: ReportData) -> [String] { listLines(data.claims) }

    /// The `comparisons` as Markdown list items, decided like the claims.
    public static func comparisonLines(_ data: ReportData) -> [String] { listLines(data.comparisonClaims) }

    static func listLines(_ claims: [Claim]) -> [String] {
        claims.enumerated().map { i, c in "\(i + 1). **\(c.verdict)** — \(c.statement) (\(c.evidence))" }
    }

    /// The whole report as Markdown.
    public static func markdown(_ data: ReportData) -> String {
        var lines = ["# \(data.title)", "", "Held-out loss (nats/token, lower is better; best per domain in bold), on each",
                     "domain and on sequences that switch domain every 32–64 tokens (mixed-domain), each domain's",
                     "downstream task (exact spans, higher is better; see below the table), math exact-match accuracy",
                     "(sampled answers) and training compute of each model's whole lineage.", ""]
        lines += table(data)
        let note = taskNote(data)
        if !note.isEmpty { lines += ["", note] }
        lines += ["", "## Claims of the BTX paper", "", claimsNote, ""] + claimLines(data)
        if !data.comparisons.isEmpty { lines += ["", "## Comparisons", ""] + comparisonLines(data) }
        let lineage = lineageTable(data)
        if !lineage.isEmpty { lines += ["", "## Compute of each model, stage by stage", ""] + lineage }
        for row in data.rows {
            guard let layers = row.routing, !layers.isEmpty else { continue }
            lines += ["", "## Routing of \(row.name) (share of each domain's tokens per expert, mean over layers)", ""]
            lines.append("| domain | " + row.routingExperts.joined(separator: " | ") + " |")
            lines.append("|---|" + row.routingExperts.map { _ in "---" }.joined(separator: "|") + "|")
            for d in data.domains + [EvaluateStage.mixedDomain] {
                guard let f = row.meanRouting(d) else { continue }
                lines.append("| \(d) | " + f.map { String(format: "%.0f%%", 100 * $0) }.joined(separator: " | ") + " |")
            }
            lines += ["", "Load balance (busiest expert's load / mean load, per layer): "
                      + row.loadImbalance.map { String(format: "%.2f", $0) }.joined(separator: ", ")]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let lineageHeader = ["model", "stage", "steps", "tokens", "compute"]

    /// Each model's lineage: every training run behind it (stage, steps, tokens seen, FLOPs), then its
    /// total; a run shared by several models (the seed) is listed under each. Empty without runs.
    static func lineageCells(_ data: ReportData) -> [[String]] {
        data.rows.filter { !$0.history.runs.isEmpty }.flatMap { row -> [[String]] in
            let runs = row.history.runs
            let lines = runs.enumerated().map { i, run in
                [i == 0 ? row.name : "", run.stage, "\(run.steps)", "\(run.tokens)", ReportData.flops(run.flops)]
            }
            guard runs.count > 1 else { return lines }
            return lines + [["", "total", "\(runs.reduce(0) { $0 + $1.steps })", "\(row.history.tokens)", ReportData.flops(row.history.flops)]]
        }
    }

    /// The lineage as Markdown table rows (header first); empty without runs.
    static func lineageTable(_ data: ReportData) -> [String] {
        let cells = lineageCells(data)
        return cells.isEmpty ? [] : markdownRows(header: lineageHeader, cells)
    }

    /// A Markdown table: the header, its rule, then one row per cell list.
    static func markdownRows(header: [String], _ rows: [[String]]) -> [String] {
        let row = { (cells: [String]) in "| " + cells.joined(separator: " | ") + " |" }
        return [row(header), "|" + header.map { _ in "---" }.joined(separator: "|") + "|"] + rows.map(row)
    }

    /// An HTML table: the header row, then one row per cell list (escaped).
    static func htmlRows(header: [String], _ rows: [[String]]) -> String {
        "<table>\n<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            + rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }.joined() + "</table>\n"
    }

    /// The whole report as one HTML page with inline SVG charts.
    public static func html(_ data: ReportData) -> String {
        var body = "<h1>\(escape(data.title))</h1>\n"
        body += "<p>Held-out loss (nats/token, lower is better; best per domain in bold), on each domain and on sequences that switch domain every 32–64 tokens (mixed-domain), each domain's downstream task (exact spans, higher is better; see below the table), math exact-match accuracy (sampled answers) and training compute of each model's whole lineage.</p>\n"
        body += htmlTable(data)
        let note = taskNote(data)
        if !note.isEmpty { body += "<p>\(escape(note))</p>\n" }
        body += "<h2>Claims of the BTX paper</h2>\n<p>\(escape(claimsNote))</p>\n" + htmlList(data.claims)
        if !data.comparisons.isEmpty { body += "<h2>Comparisons</h2>\n" + htmlList(data.comparisonClaims) }
        let lineage = lineageCells(data)
        if !lineage.isEmpty {
            body += "<h2>Compute of each model, stage by stage</h2>\n" + htmlRows(header: lineageHeader, lineage)
        }
        body += "<h2>Training loss</h2>\n" + ReportCharts.lossCurves(data)
        for (index, row) in data.rows.enumerated() where !(row.routing ?? []).isEmpty {
            body += "<h2>Routing of \(escape(row.name))</h2>\n" + ReportCharts.routingHeatmaps(row, domains: data.domains, index: index)
        }
        return page(title: data.title, body: body,
                    style: ".held{color:#1a7f37}.not{color:#c62828}.inc{color:#b26a00}.na{color:#777}svg{margin:4px}.panel{display:flex;flex-wrap:wrap}")
    }

    /// A self-contained HTML page (the report's, the tuning grid's, the sweep's): `body` under the
    /// common style for text and tables, plus `style`.
    static func page(title: String, body: String, style: String = "") -> String {
        let common = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse}"
            + "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>\(escape(title))</title><style>\(common + style)</style></head>\n<body>\n\(body)</body></html>\n"
    }

    /// Claims as an HTML ordered list, each verdict coloured.
    static func htmlList(_ claims: [Claim]) -> String {
        "<ol>\n" + claims.map { c in
            let cls = ["held": "held", "not held": "not", "inconclusive": "inc"][c.verdict] ?? "na"
            return "<li><b class=\"\(cls)\">\(c.verdict)</b> — \(escape(c.statement)) <small>(\(escape(c.evidence)))</small></li>\n"
        }.joined() + "</ol>\n"
    }

    /// The results table as HTML, built from the data (the same cells as the Markdown table).
    static func htmlTable(_ data: ReportData) -> String {
        let (header, rows) = cells(data)
        var out = "<table>\n<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows {
            out += "<tr>" + row.map { "<td>\($0.best ? "<b>\(escape($0.text))</b>" : escape($0.text))</td>" }.joined() + "</tr>\n"
        }
        return out + "</table>\n"
    }

    /// Everything the HTML shows, as JSON (what scripts should read): rows with their routing
    /// matrices and load balance, the loss-curve panels, and the claims with their verdicts.
    public static func json(_ data: ReportData) -> JSONValue {
        let rows: [JSONValue] = data.rows.map { r in
            var o: [String: JSONValue] = ["name": .string(r.name), "role": .string(r.role),
                                          "losses": .object(r.losses.mapValues { .double($0) }),
                                          "average_loss": .double(r.averageLoss), "flops": .double(r.flops),
                                          "tokens": .int(Int64(r.history.tokens)),
                                          "lineage": .array(r.history.runs.map { ["stage": .string($0.stage), "steps": .int(Int64($0.steps)),
                                                                                  "tokens": .int(Int64($0.tokens)), "flops": .double($0.flops)] })]
            if let d = r.expertDomain { o["expert_domain"] = .string(d) }
            if let a = r.mathAccuracy { o["math_accuracy"] = .double(a) }
            if let m = r.mixedLoss { o["mixed_loss"] = .double(m) }
            if !r.tasks.isEmpty { o["tasks"] = .object(r.tasks.mapValues(\.json)) }
            if let layers = r.routing, !layers.isEmpty {
                // [layer][domain][expert], domains in the report's order.
                o["routing"] = .object(["experts": .array(r.routingExperts.map { .string($0) }),
                                        "domains": .array(data.domains.map { .string($0) }),
                                        "fractions": .array(layers.map { layer in
                                            .array(data.domains.map { .array((layer[$0] ?? []).map { .double($0) }) })
                                        })])
                o["load_imbalance"] = .array(r.loadImbalance.map { .double($0) })
            }
            return .object(o)
        }
        let claim = { (c: Claim) -> JSONValue in
            ["statement": .string(c.statement), "verdict": .string(c.verdict), "evidence": .string(c.evidence),
             "held": c.held.map(JSONValue.bool) ?? .null]
        }
        let claims = data.claims.map(claim)
        var tasks: [String: JSONValue] = [:]
        for d in data.taskDomains { tasks[d] = data.rows.lazy.compactMap { $0.taskDescriptions[d] }.first.map(JSONValue.string) }
        return ["title": .string(data.title), "domains": .array(data.domains.map { .string($0) }), "tasks": .object(tasks),
                "rows": .array(rows), "claims": .array(claims), "comparisons": .array(data.comparisonClaims.map(claim)),
                "curves": ReportCurves(data).json]
    }

    /// `text` with the five HTML special characters escaped.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }
}
