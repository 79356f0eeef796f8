import ArgumentParser
import BTXPipeline
import BTXStages
import BTXStore
import Foundation

/// `btxpipe metrics PIPELINE [STAGE…] --format jsonl|csv|table`: the stages' `metrics.jsonl` rows with
/// the stage as a column, ready for `pd.read_csv` / `pd.read_json(lines=True)`.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the cached stages' metrics (training curves, evaluation results) as JSON Lines, CSV or a table.",
        discussion: """
        Training rows: step, tokens, flops, loss, lr, grad_norm, aux_loss, and (from the run record, joined by \
        step) wall_s and tokens_per_s. Evaluation rows: name, role, domain, loss, perplexity, flops, tokens. \
        Example: pd.read_csv(io.StringIO(subprocess.check_output(["btxpipe", "metrics", "pipelines/btx.yaml", \
        "--format", "csv"], text=True))).
        """)

    /// The output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl, csv, table }

    @OptionGroup var options: PipelineOptions

    @Argument(help: "Stages to print (a fan-out name means all its instances; default: every stage with metrics).")
    var stages: [String] = []

    @Option(help: "jsonl, csv or table.")
    var format: Format = .jsonl

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let named: [String]
            do { named = stages.isEmpty ? session.spec.stages.map(\.name) : try session.planner.resolveTargets(stages) } catch {
                throw CommandFailure.usage("\(error)")
            }
            let steps = try session.fullPlan()
            var rows: [[String: JSONValue]] = []
            for step in steps where named.contains(step.stage) {
                guard let key = step.key?.hash, let entry = try? session.store.action(key) else {
                    if !stages.isEmpty { FileHandle.standardError.write(Data("btxpipe: \(step.stage): not cached, no metrics\n".utf8)) }
                    continue
                }
                rows += try MetricsTable.rows(stage: step.stage, entry: entry, store: session.store)
            }
            print(MetricsTable.render(rows, format: format), terminator: "")
        }
    }
}
