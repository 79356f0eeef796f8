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

    /// Stage → "ID STATE" for the stages of the last submission, states read with
    /// `squeue -h -t all -j IDS -o "%i %T"` (a pending array shows as `ID_[0-2]`, covering its tasks).
    public func states(using commands: CommandRunner) -> [String: String] {
        let jobs = load()
        guard !jobs.isEmpty else { return [:] }
        var stateOf: [String: String] = [:]
        if let result = try? commands.run("squeue", ["-h", "-t", "all", "-j", jobs.map(\.id).joined(separator: ","), "-o", "%i %T"], input: nil),
           result.status == 0 {
            for line in result.stdout.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count == 2 { stateOf[String(fields[0])] = String(fields[1]) }
            }
        }
        var shown: [String: String] = [:]
        for job in jobs {
            for stage in job.stages {
                guard let task = job.taskID(of: stage) else { continue }
                let state = stateOf[task] ?? pendingArrayState(job, stateOf) ?? "gone"
                shown[stage] = "\(task) \(state)"
            }
        }
        return shown
    }

    /// The state of a still-pending array line such as `123_[0-2]`.
    private func pendingArrayState(_ job: SubmittedJob, _ states: [String: String]) -> String? {
        guard job.isArray else { return nil }
        return states.first { $0.key.hasPrefix("\(job.id)_[") }?.value
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
