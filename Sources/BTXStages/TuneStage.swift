import BTXPipeline
import BTXStore
import Foundation

/// `tune`: equal tuning. Every method (dense, sparse upcycling, the BTX finetune, …) trains once per
/// point of the same learning-rate `grid`, each model is evaluated on the dev split, and this stage
/// picks each method's winner, its lowest average dev loss (`TuningGrid`; a test-split evaluation is
/// refused). Inputs `results`: the dev evaluations. Output: a "report" manifest (`report.md`,
/// `report.html`, `report.json`, so `btxpipe report` prints it) whose metadata `winners` maps each
/// method to its learning rate (pipelines/tune.yaml; pipelines/btx.yaml uses the winners).
struct TuneStage: StageKind {
    static let name = "tune"
    static let version = 1
    static let summary = "pick each method's learning rate on the dev split (the same grid for every method)"

    func validate(_ params: StageParams) throws {
        _ = try params.string("title", default: "Learning-rate grid")
        _ = try TuningGrid.points(params)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let results = context.inputList("results")
        guard !results.isEmpty else { throw StageError.missingInput(name: "results") }
        let grid = try TuningGrid(points: try TuningGrid.points(context.params),
                                  evaluations: results.enumerated().map { ($1, "results.\($0)") })
        let title = try context.params.string("title", default: "Learning-rate grid")
        for line in Self.table(grid) { context.log(line) }
        var objects: [String: ObjectHash] = [:]
        objects["report.md"] = try context.store.putObject(Data(Self.markdown(grid, title: title).utf8))
        objects["report.html"] = try context.store.putObject(Data(Self.html(grid, title: title).utf8))
        objects["report.json"] = try context.store.putObject(Self.json(grid, title: title).canonicalData)
        var winners: [String: JSONValue] = [:]
        for m in grid.methods { winners[m.name] = .double(grid.learningRate(m.winner)) }
        return Manifest(kind: "report", objects: objects, metadata: ["title": .string(title), "winners": .object(winners)])
    }

    /// How the grid is read, above its table.
    static let note = "Average loss on the dev split (held-out documents disjoint from the test tokens every report row is "
        + "scored on; nats/token, lower is better) of each method trained at each peak learning rate, everything else "
        + "equal; each method's winner (bold) is its lowest dev loss. No test score is read."

    /// The grid as Markdown rows: one per method, one column per learning rate, then the winner.
    static func table(_ grid: TuningGrid) -> [String] {
        let header = ["method"] + grid.points.map { "lr \($0.name)" } + ["winner"]
        return ["| " + header.joined(separator: " | ") + " |", "|" + header.map { _ in "---" }.joined(separator: "|") + "|"]
            + grid.methods.map { m in
                let cells = grid.points.map { p in
                    let text = String(format: "%.4f", m.devLoss[p.name]!)
                    return p.name == m.winner ? "**\(text)**" : text
                }
                return "| " + ([m.name] + cells + [m.winner]).joined(separator: " | ") + " |"
            }
    }

    static func markdown(_ grid: TuningGrid, title: String) -> String {
        (["# \(title)", "", note, ""] + table(grid)).joined(separator: "\n") + "\n"
    }

    static func html(_ grid: TuningGrid, title: String) -> String {
        let e = ReportRenderer.escape
        var rows = "<tr><th>method</th>" + grid.points.map { "<th>lr \(e($0.name))</th>" }.joined() + "<th>winner</th></tr>\n"
        for m in grid.methods {
            let cells = grid.points.map { p -> String in
                let text = String(format: "%.4f", m.devLoss[p.name]!)
                return "<td>" + (p.name == m.winner ? "<b>\(text)</b>" : text) + "</td>"
            }
            rows += "<tr><td>\(e(m.name))</td>" + cells.joined() + "<td>\(e(m.winner))</td></tr>\n"
        }
        return ReportRenderer.page(title: title, body: "<h1>\(e(title))</h1>\n<p>\(e(note))</p>\n<table>\n\(rows)</table>\n")
    }

    static func json(_ grid: TuningGrid, title: String) -> JSONValue {
        let methods: [JSONValue] = grid.methods.map { m in
            ["name": .string(m.name), "role": .string(m.role),
             "dev_loss": .object(m.devLoss.mapValues { .double($0) }),
             "winner": ["name": .string(m.winner), "learning_rate": .double(grid.learningRate(m.winner)),
                        "dev_loss": .double(m.devLoss[m.winner]!)]]
        }
        return ["title": .string(title), "note": .string(note),
                "grid": .array(grid.points.map { ["name": .string($0.name), "learning_rate": .double($0.learningRate)] }),
                "methods": .array(methods)]
    }
}
