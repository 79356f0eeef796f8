import ArgumentParser
import BTXPipeline

/// `btxpipe explain PIPELINE STAGE`: why the stage would rerun (which part of its key changed).
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Why a stage would rerun: which part of its key changed since its last run.")

    @OptionGroup var options: PipelineOptions

    @Argument(help: "The stage, e.g. 'train[code]'.")
    var stage: String

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let name = try session.stage(stage).name
            do {
                for line in try session.planner.explain(name, state: session.state) { print(line) }
            } catch { throw CommandFailure.usage("\(error)") }
        }
    }
}
