import BTXPipeline
import BTXStore
import Foundation

/// The same pipeline run with several seeds (init, data order, routers), summarised: each row's
/// held-out losses as mean ± sample standard deviation over the runs, and each claim's verdict in
/// every run. Built from the runs' `report.json` (`ReportRenderer.json`); `btxpipe report --seeds`.
public struct SeedSummary: Equatable, Sendable {
    /// One model row: its name and, per column (domains, "average", "mixed"), the value of each run.
    public struct Row: Equatable, Sendable {
        public var name: String
        public var values: [String: [Double]]
    }

    /// One claim and its verdict in each run.
    public struct ClaimVerdicts: Equatable, Sendable {
        public var statement: String
        public var verdicts: [String]
    }

    /// The runs' seeds, in order.
    public var seeds: [Int]
    /// The loss columns: the domains, then "average" and (when every run has it) "mixed".
    public var columns: [String]
    public var rows: [Row]
    public var claims: [ClaimVerdicts]

    /// The summary of `reports` (one `report.json` per seed, in the order of `seeds`). Rows are matched by
    /// name (a row missing from any run is left out); claims by statement (missing from a run: "not tested").
    public init(seeds: [Int], reports: [JSONValue]) throws {
        guard seeds.count == reports.count, seeds.count >= 2 else {
            throw StageError.failed("a seed summary needs at least two runs, one report per seed")
        }
        self.seeds = seeds
        let domains = (reports[0]["domains"]?.arrayValue ?? []).compactMap(\.stringValue)
        guard !domains.isEmpty else { throw StageError.failed("the report of seed \(seeds[0]) has no domains") }
        for (seed, report) in zip(seeds, reports) where (report["domains"]?.arrayValue ?? []).compactMap(\.stringValue) != domains {
            throw StageError.failed("the report of seed \(seed) has other domains than seed \(seeds[0])'s (\(domains.joined(separator: ", ")))")
        }
        let table = reports.map { report in
            Dictionary((report["rows"]?.arrayValue ?? []).compactMap { row in row["name"]?.stringValue.map { ($0, row) } },
                       uniquingKeysWith: { first, _ in first })
        }
        let hasMixed = reports.allSatisfy { ($0["rows"]?.arrayValue ?? []).contains { $0["mixed_loss"] != nil } }
        columns = domains + ["average"] + (hasMixed ? ["mixed"] : [])
        let names = (reports[0]["rows"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        rows = names.compactMap { name -> Row? in
            let runs = table.compactMap { $0[name] }
            guard runs.count == reports.count else { return nil }
            var values: [String: [Double]] = [:]
            for c in domains { values[c] = runs.compactMap { $0["losses"]?[c]?.doubleValue } }
            values["average"] = runs.compactMap { $0["average_loss"]?.doubleValue }
            values["mixed"] = runs.compactMap { $0["mixed_loss"]?.doubleValue }
            return Row(name: name, values: values.filter { $0.value.count == reports.count })
        }
        let statements = (reports[0]["claims"]?.arrayValue ?? []).compactMap { $0["statement"]?.stringValue }
        claims = statements.map { statement in
            ClaimVerdicts(statement: statement, verdicts: reports.map { report in
                (report["claims"]?.arrayValue ?? []).first { $0["statement"]?.stringValue == statement }?["verdict"]?.stringValue ?? "not tested"
            })
        }
    }

    /// Mean and sample standard deviation.
    static func meanSD(_ values: [Double]) -> (mean: Double, sd: Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(values.count - 1, 1))
        return (mean, variance.squareRoot())
    }

    /// The table (mean ± sd per cell) and the claims (each run's verdict and the tally), as Markdown lines.
    public var markdownLines: [String] {
        let seedList = seeds.map(String.init).joined(separator: ", ")
        var lines = ["Held-out loss, nats/token: mean ± standard deviation over \(seeds.count) runs (seeds \(seedList)).", "",
                     "| model | " + columns.joined(separator: " | ") + " |", "|---|" + columns.map { _ in "---" }.joined(separator: "|") + "|"]
        for row in rows {
            let cells = columns.map { c in row.values[c].map { v in let m = Self.meanSD(v); return String(format: "%.3f ± %.3f", m.mean, m.sd) } ?? "–" }
            lines.append("| \(row.name) | " + cells.joined(separator: " | ") + " |")
        }
        lines += ["", "| claim | " + seeds.map { "seed \($0)" }.joined(separator: " | ") + " | held in |",
                  "|---|" + seeds.map { _ in "---" }.joined(separator: "|") + "|---|"]
        for (i, claim) in claims.enumerated() {
            let held = claim.verdicts.filter { $0 == "held" }.count
            lines.append("| (\(i + 1)) \(claim.statement) | " + claim.verdicts.joined(separator: " | ") + " | \(held) of \(seeds.count) |")
        }
        return lines
    }

    /// Everything above as JSON: per row and column the runs' values, mean and sd; per claim the verdicts.
    public var json: JSONValue {
        let rows: [JSONValue] = self.rows.map { row in
            var cells: [String: JSONValue] = [:]
            for (c, v) in row.values {
                let m = Self.meanSD(v)
                cells[c] = ["values": .array(v.map { .double($0) }), "mean": .double(m.mean), "sd": .double(m.sd)]
            }
            return ["name": .string(row.name), "columns": .object(cells)]
        }
        return ["seeds": .array(seeds.map { .int(Int64($0)) }), "columns": .array(columns.map { .string($0) }), "rows": .array(rows),
                "claims": .array(claims.map { ["statement": .string($0.statement), "verdicts": .array($0.verdicts.map { .string($0) })] })]
    }
}
