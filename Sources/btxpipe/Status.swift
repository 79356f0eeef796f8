import ArgumentParser
import BTXPipeline
import BTXStore
import Foundation

/// `btxpipe status PIPELINE`: each stage cached / stale / missing / failed / running, with duration and key.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Each stage: cached, stale, missing, failed or running, with its duration and key.",
        discussion: """
        After `btxpipe submit`, a JOB column shows each stage's Slurm job id and state (PENDING, RUNNING, \
        COMPLETED, …), "requeued N×" for a job requeued at its time limit, and the log of a failed one.
        """)

    @OptionGroup var options: PipelineOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let steps = try session.fullPlan()
            var rows = [["STAGE", "STATUS", "DURATION", "KEY"]] + steps.map { row(for: $0, session: session) }
            let jobs = SlurmJobs(store: session.store, pipeline: session.spec.name).states(using: ProcessRunner())
            if output.json { return output.print(json(rows.dropFirst(), steps: steps, jobs: jobs)) }
            if !jobs.isEmpty { rows = rows.enumerated().map { $1 + [$0 == 0 ? "JOB" : jobs[$1[0]] ?? "-"] } }
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
        }
    }

    /// The rows as `[{stage, status, duration, key, job?}]`, with full keys (null when not computable yet).
    private func json(_ rows: ArraySlice<[String]>, steps: [PlanStep], jobs: [String: String]) -> JSONValue {
        .array(zip(rows, steps).map { row, step in
            var object: [String: JSONValue] = ["stage": .string(row[0]), "status": .string(row[1]),
                                               "duration": row[2] == "-" ? .null : .string(row[2]),
                                               "key": step.key.map { JSONValue.string($0.hash.hex) } ?? .null]
            if let job = jobs[row[0]] { object["job"] = .string(job) }
            return .object(object)
        })
    }

    private func row(for step: PlanStep, session: PipelineSession) -> [String] {
        let last = session.state.lastRun(pipeline: session.spec.name, stage: step.stage)
        let key = step.key?.hash
        let keyText = key?.short ?? "-"
        if let key, StageLock.isHeld(StageLock.path(store: session.store.root, key: key)) {
            let since = StageLock.readHolder(StageLock.path(store: session.store.root, key: key))?.start
            return [step.stage, "running", since.map { ProgressView.duration(Date().timeIntervalSince1970 - $0) } ?? "-", keyText]
        }
        switch step.reason {
        case .cached:
            let seconds = key.flatMap(session.cachedRecord)?.seconds
            return [step.stage, "cached", seconds.map(ProgressView.duration) ?? "-", keyText]
        case .lastRun(let outcome):
            let seconds = last.flatMap { try? session.store.record($0.record) }?.seconds
            return [step.stage, outcome.rawValue, seconds.map(ProgressView.duration) ?? "-", keyText]
        default:
            return [step.stage, last == nil ? "missing" : "stale", "-", keyText]
        }
    }
}
