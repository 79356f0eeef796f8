import ArgumentParser
import BTXPipeline
import BTXStore
import Foundation

/// `btxpipe pull PIPELINE [STAGE…] [--remote NAME|URL]`: fetch finished stages from remote stores.
struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch the stages the remotes have (all, or the named ones and their inputs), verified.")

    @OptionGroup var options: PipelineOptions
    @OptionGroup var remoteOptions: RemoteOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Stages to pull with their inputs (default: all).")
    var stages: [String] = []

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            guard let cache = try remoteOptions.cache(for: session.spec, push: false, defaultAll: true, verbosity: options.verbosity) else {
                throw CommandFailure.usage("no remote: name one with --remote NAME|URL or add `remotes:`")
            }
            var pulled: Set<ObjectHash> = []
            var failure: String?
            let state = PullingState(local: session.state) { key in
                guard failure == nil else { return nil }
                do {
                    let output = try cache.fetch(key, into: session.store)
                    if output != nil { pulled.insert(key) }
                    return output
                } catch {
                    failure = "\(error)"
                    return nil
                }
            }
            let steps: [PlanStep]
            do { steps = try session.planner.plan(targets: stages, state: state) } catch { throw CommandFailure.usage("\(error)") }
            var rows: [JSONValue] = []
            for step in steps {
                let status: String
                if let key = step.key?.hash, pulled.contains(key) { status = "pulled" }
                else if case .cached = step.reason { status = "already here" }
                else { status = "not on the remotes" }
                if output.json { rows.append(["stage": .string(step.stage), "status": .string(status)]) }
                else { print("\(step.stage)  \(status)") }
            }
            if output.json { output.print(.array(rows)) }
            if let failure { throw CommandFailure.failed(failure) }
        }
    }
}
