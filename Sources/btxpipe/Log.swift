import ArgumentParser
import BTXPipeline
import Foundation

/// `btxpipe log PIPELINE STAGE`: the log of the stage's last run.
struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the log of a stage's last run.")

    @OptionGroup var arguments: StageArguments

    func run() throws {
        try CommandFailure.report {
            let (session, instance) = try arguments.load()
            let name = instance.name
            guard let last = session.state.lastRun(pipeline: session.spec.name, stage: name) else {
                throw CommandFailure.usage("stage '\(name)' has not run yet")
            }
            let record = try session.store.record(last.record)
            guard let log = record.log else { return }
            FileHandle.standardOutput.write(try session.store.object(log))
        }
    }
}
