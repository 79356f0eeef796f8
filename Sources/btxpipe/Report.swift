import ArgumentParser
import BTXPipeline
import BTXStore
import Foundation

/// `btxpipe report PIPELINE`: prints the results table and claims of the pipeline's `report` stage,
/// writes `report.md`, `report.html` and `report.json` under `report/<pipeline>/` and prints the
/// HTML's path, then each stage's wall time from its run record.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the results and claims of a finished pipeline and write its HTML report.")

    @OptionGroup var options: PipelineOptions

    @Option(name: .long, help: "The report stage (default: the last stage of kind 'report').")
    var stage: String?

    @Option(name: .long, help: "Where to write the report files (default: report/<pipeline>/).")
    var out: String?

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let name = try stage ?? session.spec.stages.last { $0.kind == "report" }?.name
                ?? { throw CommandFailure.usage("the pipeline has no stage of kind 'report'") }()
            let instance = try session.stage(name)
            let plan = try session.fullPlan()
            guard let key = plan.first(where: { $0.stage == instance.name })?.key?.hash,
                  let entry = try session.store.action(key) else {
                throw CommandFailure.failed("'\(instance.name)' has not run yet: btxpipe run \(options.pipeline)")
            }
            let manifest = try session.store.manifest(entry.output)
            let directory = URL(fileURLWithPath: out ?? "report/\(session.spec.name)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for file in ["report.md", "report.html", "report.json"] {
                guard let object = manifest.objects[file] else { throw CommandFailure.failed("report output lacks \(file)") }
                try session.store.object(object).writeAtomically(to: directory.appendingPathComponent(file))
            }
            print(String(decoding: try session.store.object(manifest.objects["report.md"]!), as: UTF8.self))
            printWallTimes(plan, session: session)
            print("HTML report: \(directory.appendingPathComponent("report.html").path)")
        }
    }

    /// Each cached stage's wall time (from its run record) and the total.
    private func printWallTimes(_ plan: [PlanStep], session: PipelineSession) {
        var total = 0.0
        print("## Wall time per stage\n")
        print("| stage | wall time |")
        print("|---|---|")
        for step in plan {
            guard let key = step.key?.hash, let record = session.cachedRecord(key) else { continue }
            total += record.seconds
            print("| \(step.stage) | \(ProgressView.duration(record.seconds)) |")
        }
        print("| total (sum) | \(ProgressView.duration(total)) |\n")
    }
}
