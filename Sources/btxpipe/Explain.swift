import ArgumentParser
import BTXPipeline

/// `btxpipe explain PIPELINE STAGE`: why the stage would rerun (which part of its key changed).
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Why a stage would rerun: which part of its key changed since its last run.")

    @OptionGroup var arguments: StageArguments

    func run() throws {
        try CommandFailure.report {
            let (session, instance) = try arguments.load()
            let name = instance.name
            do {
                for line in try session.planner.explain(name, state: session.state) { print(line) }
            } catch { throw CommandFailure.usage("\(error)") }
        }
    }
}
