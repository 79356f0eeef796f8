import BTXPipeline
import BTXStore
import Foundation

/// `report`: the comparison of every evaluated model (input list `results`, evaluation manifests in
/// row order) as `report.md`, a self-contained `report.html` and `report.json` objects.
struct ReportStage: StageKind {
    static let name = "report"
    static let version = 5  // 5: compute and tokens of each model's training runs, stage by stage; 4: a downstream task column per domain; 3: claims by paired bootstrap, claim 5, mixed-domain column; 2: curves against tokens and FLOPs per comparison; report.json carries all the HTML shows
    static let summary = "results table, loss curves, routing heatmaps and the paper's claims"

    func validate(_ params: StageParams) throws {
        _ = try params.string("title", default: "BTX results")
        _ = try Self.comparisons(params)
    }

    /// The `comparisons` param: a list of `{better: ROW, worse: ROW}` (row labels), default none.
    static func comparisons(_ p: StageParams) throws -> [RowComparison] {
        try p.array("comparisons", default: []).map { item in
            guard let better = item["better"]?.stringValue, let worse = item["worse"]?.stringValue, item.objectValue?.count == 2 else {
                throw StageError.badParameter(field: "comparisons", expected: "a list of {better: ROW NAME, worse: ROW NAME}", actual: item.canonicalText)
            }
            return RowComparison(better: better, worse: worse)
        }
    }

    func run(_ context: StageContext) throws -> Manifest {
        let data = try Self.data(context)
        let markdown = ReportRenderer.markdown(data)
        var objects: [String: ObjectHash] = [:]
        objects["report.md"] = try context.store.putObject(Data(markdown.utf8))
        objects["report.html"] = try context.store.putObject(Data(ReportRenderer.html(data).utf8))
        objects["report.json"] = try context.store.putObject(ReportRenderer.json(data).canonicalData)
        for line in ReportRenderer.table(data) + [""] + [ReportRenderer.taskNote(data), ""] + ReportRenderer.claimLines(data)
            + ReportRenderer.comparisonLines(data) { context.log(line) }
        let held = data.claims.filter { $0.held == true }.count
        context.metric("claims_held", .int(Int64(held)))
        return Manifest(kind: "report", objects: objects,
                        metadata: ["title": .string(data.title), "rows": .int(Int64(data.rows.count)),
                                   "claims_held": .int(Int64(held)), "claims": .int(Int64(data.claims.count))])
    }

    /// The rows of the `results` inputs; domains in the first result's data order.
    static func data(_ context: StageContext) throws -> ReportData {
        let results = context.inputList("results")
        guard !results.isEmpty else { throw StageError.missingInput(name: "results") }
        let rows = try results.enumerated().map { try ReportRow(evaluation: $1, input: "results.\($0)") }
        let domains = results[0].metadata["domain_order"]?.arrayValue?.compactMap(\.stringValue)
        var data = ReportData(title: try context.params.string("title", default: "BTX results"), domains: domains, rows: rows)
        data.comparisons = try comparisons(context.params)
        return data
    }
}
