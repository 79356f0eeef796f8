import BTXStore
import Foundation

/// The jobs of the last Slurm submission of a pipeline, kept in its store (an object named by the ref
/// `slurm/<pipeline>`), and their live states from `squeue` (no accounting needed). The action cache
/// stays the source of truth for what finished; job states only show what is queued or running.
public struct SlurmJobs {
    /// The store holding the record.
    public let store: Store
    /// The pipeline's name.
    public let pipeline: String

    /// The record of `pipeline`'s submissions in `store`.
    public init(store: Store, pipeline: String) {
        self.store = store
        self.pipeline = pipeline
    }

    private var ref: String { "slurm/\(pipeline)" }

    /// Remembers `jobs` as the pipeline's current submission.
    public func save(_ jobs: [SubmittedJob]) throws {
        try store.setRef(ref, to: try store.putObject(JSONValue(encoding: jobs).canonicalData))
    }

    /// The last submission's jobs (empty when there was none or its record is unreadable).
    public func load() -> [SubmittedJob] {
        guard let hash = try? store.ref(ref), let data = try? store.object(hash) else { return [] }
        return (try? JSONDecoder().decode([SubmittedJob].self, from: data)) ?? []
    }

    /// Stage → "ID STATE" for the stages of the last submission, states read with `squeue -h -t all
    /// -j IDS -O JobArrayID,State,RestartCnt` (no accounting needed; a pending array shows as `ID_[0-2]`,
    /// covering its tasks). A requeued job adds "requeued N×"; a failed one adds its log's path.
    public func states(using commands: CommandRunner) -> [String: String] {
        let jobs = load()
        guard !jobs.isEmpty else { return [:] }
        // NOTE: without squeue (not on a submit host) every task shows as "unknown" rather than failing status.
        let queue = (try? queue(jobs, using: commands)) ?? [:]
        var shown: [String: String] = [:]
        for job in jobs {
            for stage in job.stages {
                guard let task = job.taskID(of: stage) else { continue }
                guard let entry = queue[task] ?? pendingArrayEntry(job, queue) else {
                    shown[stage] = "\(task) \(queue.isEmpty ? "unknown" : "gone")"
                    continue
                }
                var text = "\(task) \(entry.state)"
                if entry.restarts > 0 { text += " requeued \(entry.restarts)×" }
                if Self.failedStates.contains(entry.state), let log = job.logPath(of: stage) { text += " log: \(log)" }
                shown[stage] = text
            }
        }
        return shown
    }

    /// Cancels every job of the last submission that is still pending or running (`scancel`); returns
    /// their ids. Cancelled jobs are not requeued.
    public func cancel(using commands: CommandRunner) throws -> [String] {
        let jobs = load()
        guard !jobs.isEmpty else { return [] }
        let queue = try queue(jobs, using: commands)
        let active = Set(queue.filter { Self.activeStates.contains($0.value.state) }
            .map { String($0.key.split(separator: "_").first ?? "") })
        let ids = jobs.map(\.id).filter(active.contains)
        guard !ids.isEmpty else { return [] }
        let result = try commands.run("scancel", ids, input: nil)
        guard result.status == 0 else {
            throw SlurmError.commandFailed(command: "scancel", status: result.status, message: result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return ids
    }

    /// Job states Slurm still has to finish: cancel stops these.
    static let activeStates: Set = ["PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING",
                                    "COMPLETING", "SUSPENDED", "RESIZING", "SIGNALING", "STAGE_OUT", "SPECIAL_EXIT"]
    /// Job states whose log says why a stage did not finish.
    static let failedStates: Set = ["FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "PREEMPTED"]

    /// One line of squeue: a task's state and how often it was requeued.
    struct QueueEntry: Equatable {
        var state: String
        var restarts: Int
    }

    /// Task id ("7", "8_1", or "8_[0-2]" for a pending array) → its queue entry.
    func queue(_ jobs: [SubmittedJob], using commands: CommandRunner) throws -> [String: QueueEntry] {
        let arguments = ["-h", "-t", "all", "-j", jobs.map(\.id).joined(separator: ","), "-O", "JobArrayID:40,State:24,RestartCnt:8"]
        let result = try commands.run("squeue", arguments, input: nil)
        guard result.status == 0 else {
            throw SlurmError.commandFailed(command: "squeue", status: result.status, message: result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        var entries: [String: QueueEntry] = [:]
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2 else { continue }
            entries[String(fields[0])] = QueueEntry(state: String(fields[1]), restarts: fields.count > 2 ? Int(fields[2]) ?? 0 : 0)
        }
        return entries
    }

    /// The entry of a still-pending array line such as `123_[0-2]`.
    private func pendingArrayEntry(_ job: SubmittedJob, _ queue: [String: QueueEntry]) -> QueueEntry? {
        guard job.isArray else { return nil }
        return queue.first { $0.key.hasPrefix("\(job.id)_[") }?.value
    }
}

/// Runs programs found on PATH with Foundation's `Process`.
public struct ProcessRunner: CommandRunner {
    /// A runner.
    public init() {}

    public func run(_ executable: String, _ arguments: [String], input: Data?) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(input) }
        try? inPipe.fileHandleForWriting.close()
        // NOTE: read both pipes at once, so a chatty child cannot block on a full one.
        let stdout = OutputBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { stdout.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout.data, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

/// Bytes one thread reads for another (handed over through a DispatchGroup wait).
private final class OutputBox: @unchecked Sendable {
    var data = Data()
}
