import ArgumentParser
import BTXPipeline
import BTXStages
import BTXStore
import Foundation

/// `btxpipe report PIPELINE`: prints the results table and claims of the pipeline's `report` stage (or
/// the learning-rate grid of its `tune` stage, or the regime sweep of its `sweep` stage),
/// writes `report.md`, `report.html` and `report.json` under `report/<pipeline>/` and prints the
/// HTML's path, then each stage's wall time from its run record.
///
/// NOTE: wall times are not part of the report stage's output (a cached result must be the same bytes
/// on every run); this command adds them to the HTML and JSON it writes.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the results and claims of a finished pipeline and write its HTML report.")

    @OptionGroup var options: PipelineOptions

    @Option(name: .long, help: "The report stage (default: the last stage of kind 'report', 'tune' or 'sweep').")
    var stage: String?

    @Option(name: .long, help: ArgumentHelp(
        "Summarise the runs with these seeds (comma-separated, at least two): each row as mean ± sd, each claim's verdicts.",
        discussion: "Each run is the pipeline with --set vars.seed=N (run it first: btxpipe run PIPELINE --set vars.seed=N). "
            + "Writes report.md and report.json under report/<pipeline>-seeds/.",
        valueName: "N,N,…"))
    var seeds: String?

    @Option(name: .long, help: "Where to write the report files (default: report/<pipeline>/).")
    var out: String?

    func validate() throws {
        if let seeds { _ = try Self.seedList(seeds) }
    }

    func run() throws {
        try CommandFailure.report {
            if let seeds { return try summarise(seeds: try Self.seedList(seeds)) }
            let session = try PipelineSession(options)
            let plan = try session.fullPlan()
            let manifest = try reportManifest(session, plan: plan).manifest
            let directory = URL(fileURLWithPath: out ?? "report/\(session.spec.name)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let walls = wallTimes(plan, session: session)
            for file in ["report.md", "report.html", "report.json"] {
                guard let object = manifest.objects[file] else { throw CommandFailure.failed("report output lacks \(file)") }
                let data = try Self.addingWallTimes(walls, to: session.store.object(object), file: file)
                try data.writeAtomically(to: directory.appendingPathComponent(file))
            }
            print(String(decoding: try session.store.object(manifest.objects["report.md"]!), as: UTF8.self))
            printWallTimes(walls)
            print("HTML report: \(directory.appendingPathComponent("report.html").path)")
        }
    }

    /// The report stage's name, output hash and manifest (it must have run).
    private func reportManifest(_ session: PipelineSession, plan: [PlanStep], hint: String = "") throws -> (stage: String, output: ObjectHash, manifest: Manifest) {
        let name = try stage ?? session.spec.stages.last { ["report", "tune", "sweep"].contains($0.kind) }?.name
            ?? { throw CommandFailure.usage("the pipeline has no stage of kind 'report', 'tune' or 'sweep'") }()
        let instance = try session.stage(name)
        guard let key = plan.first(where: { $0.stage == instance.name })?.key?.hash,
              let entry = try session.store.action(key) else {
            throw CommandFailure.failed("'\(instance.name)' has not run yet: btxpipe run \(options.pipeline)\(hint)")
        }
        return (instance.name, entry.output, try session.store.manifest(entry.output))
    }

    /// `--seeds`: the report of each seed's run, summarised (`SeedSummary`), printed and written.
    private func summarise(seeds: [Int]) throws {
        var reports: [JSONValue] = [], name = "", outputs: [ObjectHash: Int] = [:]
        for seed in seeds {
            var seeded = options
            seeded.overrides.append("vars.seed=\(seed)")
            let session = try PipelineSession(seeded)
            let (stage, output, manifest) = try reportManifest(session, plan: try session.fullPlan(), hint: " --set vars.seed=\(seed)")
            // NOTE: a pipeline whose stages ignore vars.seed gives every "seed" the same report.
            if let other = outputs.updateValue(seed, forKey: output) {
                throw CommandFailure.failed("seeds \(other) and \(seed) give the same '\(stage)' output: the pipeline's stages do not use vars.seed")
            }
            guard let object = manifest.objects["report.json"] else { throw CommandFailure.failed("report output lacks report.json") }
            reports.append(try JSONValue.parse(try session.store.object(object)))
            name = session.spec.name
        }
        let summary = try SeedSummary(seeds: seeds, reports: reports)
        let markdown = summary.markdownLines.joined(separator: "\n") + "\n"
        let directory = URL(fileURLWithPath: out ?? "report/\(name)-seeds")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(("# \(name): \(seeds.count) seeds\n\n" + markdown).utf8).writeAtomically(to: directory.appendingPathComponent("report.md"))
        try summary.json.canonicalData.writeAtomically(to: directory.appendingPathComponent("report.json"))
        print(markdown)
        print("Summary: \(directory.appendingPathComponent("report.md").path)")
    }

    /// "1,2,3" → [1, 2, 3]: at least two distinct seeds.
    static func seedList(_ text: String) throws -> [Int] {
        let seeds = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard seeds.count >= 2, seeds.allSatisfy({ $0 != nil && $0! >= 0 }), Set(seeds.map { $0! }).count == seeds.count else {
            throw ValidationError("--seeds expects at least two distinct seeds ≥ 0, comma-separated, e.g. 1,2,3; got '\(text)'")
        }
        return seeds.map { $0! }
    }

    /// Each cached stage's wall time from its run record, in plan order.
    private func wallTimes(_ plan: [PlanStep], session: PipelineSession) -> [(stage: String, seconds: Double)] {
        plan.compactMap { step in
            guard let key = step.key?.hash, let record = session.cachedRecord(key) else { return nil }
            return (step.stage, record.seconds)
        }
    }

    /// Prints the wall times and their sum as a Markdown table.
    private func printWallTimes(_ walls: [(stage: String, seconds: Double)]) {
        print("## Wall time per stage\n")
        print("| stage | wall time |")
        print("|---|---|")
        for wall in walls { print("| \(wall.stage) | \(ProgressView.duration(wall.seconds)) |") }
        print("| total (sum) | \(ProgressView.duration(walls.reduce(0) { $0 + $1.seconds })) |\n")
    }

    /// `report.html` with a wall-time table before `</body>`, `report.json` with `wall_times`; others as they are.
    static func addingWallTimes(_ walls: [(stage: String, seconds: Double)], to data: Data, file: String) throws -> Data {
        switch file {
        case "report.json":
            guard case .object(var object) = try JSONValue.parse(data) else { return data }
            object["wall_times"] = .array(walls.map { .object(["stage": .string($0.stage), "seconds": .double($0.seconds)]) })
            return JSONValue.object(object).canonicalData
        case "report.html":
            let html = String(decoding: data, as: UTF8.self)
            let rows = walls.map { "<tr><td>\(ReportRenderer.escape($0.stage))</td><td>\(ProgressView.duration($0.seconds))</td></tr>\n" }.joined()
            let total = ProgressView.duration(walls.reduce(0) { $0 + $1.seconds })
            let table = "<h2>Wall time per stage</h2>\n<table>\n<tr><th>stage</th><th>wall time</th></tr>\n\(rows)"
                + "<tr><td>total (sum)</td><td>\(total)</td></tr>\n</table>\n"
            return Data(html.replacingOccurrences(of: "</body>", with: table + "</body>").utf8)
        default:
            return data
        }
    }

}
