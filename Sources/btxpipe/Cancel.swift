import ArgumentParser
import BTXPipeline
import Foundation

/// `btxpipe cancel PIPELINE`: cancel the pipeline's submitted jobs that are still pending or running.
struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel the pipeline's submitted Slurm jobs that are still pending or running (scancel).",
        discussion: "Finished stages stay cached; a cancelled stage keeps its checkpoint, so a later run or submit resumes it.")

    @OptionGroup var options: PipelineOptions

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let jobs = SlurmJobs(store: session.store, pipeline: session.spec.name)
            guard !jobs.load().isEmpty else { print("no submitted jobs for \(session.spec.name)"); return }
            let cancelled: [String]
            do { cancelled = try jobs.cancel(using: ProcessRunner()) } catch { throw CommandFailure.failed("\(error)") }
            print(cancelled.isEmpty ? "no job of \(session.spec.name) is pending or running"
                                    : "cancelled \(cancelled.count) job(s): \(cancelled.joined(separator: " "))")
        }
    }
}
