import ArgumentParser
import BTXPipeline
import BTXStore
import Foundation

/// `btxpipe push PIPELINE [STAGE…] [--remote NAME|URL]`: publish cached stages to remote stores.
struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish cached stages (all, or the named ones and their inputs) to the remotes.",
        discussion: "Objects go first, the action entry last, after HEAD confirms every object is there.")

    @OptionGroup var options: PipelineOptions
    @OptionGroup var remoteOptions: RemoteOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Stages to push with their inputs (default: every cached stage).")
    var stages: [String] = []

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let remotes = try remoteOptions.stores(for: session.spec, defaultAll: true).filter { !$0.config.readOnly }
            guard !remotes.isEmpty else { throw CommandFailure.usage("no writable remote: name one with --remote NAME|URL or add `remotes:`") }
            let steps: [PlanStep]
            do { steps = try session.planner.plan(targets: stages, state: session.state) } catch { throw CommandFailure.usage("\(error)") }
            var failures: [String] = []
            var rows: [JSONValue] = []
            func row(_ stage: String, _ remote: String, _ status: String, _ objects: Int? = nil) {
                rows.append(.object(["stage": .string(stage), "remote": .string(remote), "status": .string(status),
                                     "objects": objects.map { JSONValue.int(Int64($0)) } ?? .null]))
            }
            defer { if output.json { output.print(.array(rows)) } }
            let line = TransferLine(verbosity: options.verbosity)
            for remote in remotes {
                for step in steps {
                    guard case .cached = step.reason, let key = step.key?.hash else {
                        row(step.stage, remote.config.name, "not cached")
                        if !output.json { print("\(step.stage)  not cached here: skipped") }
                        continue
                    }
                    let progress = line.progress("push \(step.stage) to \(remote.config.name)")
                    defer { line.end() }
                    do {
                        let outcome = try RemoteSync(remote: remote, store: session.store, parallel: remoteOptions.transfers,
                                                     progress: progress).push(key)
                        let done = progress.finish()
                        switch outcome {
                        case .present: row(step.stage, remote.config.name, "present")
                        case .published(let objects): row(step.stage, remote.config.name, "pushed", objects)
                        }
                        if output.json { continue }
                        switch outcome {
                        case .present: print("\(step.stage)  already on \(remote.config.name)")
                        case .published(let objects): print("\(step.stage)  pushed to \(remote.config.name): \(objects) new object(s); \(done)")
                        }
                    } catch {
                        row(step.stage, remote.config.name, "failed")
                        failures.append("\(step.stage): \(error)")
                    }
                }
            }
            if !failures.isEmpty { throw CommandFailure.failed(failures.joined(separator: "\nbtxpipe: ")) }
        }
    }
}
