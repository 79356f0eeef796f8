@testable import BTXPipeline
import BTXStore
import XCTest

/// Records the commands it is asked to run and answers with consecutive job ids.
private final class FakeSlurm: CommandRunner {
    var calls: [(String, [String], String)] = []
    var nextID = 100
    var squeue = ""

    func run(_ executable: String, _ arguments: [String], input: Data?) throws -> (status: Int32, stdout: String, stderr: String) {
        calls.append((executable, arguments, input.map { String(decoding: $0, as: UTF8.self) } ?? ""))
        if executable == "squeue" { return (0, squeue, "") }
        nextID += 1
        return (0, "\(nextID);cluster\n", "")
    }
}

final class SlurmPlanTests: XCTestCase {
    private let text = """
    name: g
    stages:
      a: {kind: emit, params: {value: A}}
      b: {kind: emit, params: {value: B}}
      t:
        foreach: [x, y, z]
        kind: join
        params: {separator: "${item}"}
        inputs: {parts: [a]}
      m: {kind: join, inputs: {parts: 't[*]'}}
      solo: {kind: join, inputs: {parts: [b]}}
    """

    private func spec() throws -> PipelineSpec { try PipelineSpec.parse(text, file: "g.yaml", registry: Toy.registry) }

    private func steps(_ spec: PipelineSpec, cached: Set<String> = []) -> [PlanStep] {
        spec.stages.map { stage in
            PlanStep(stage: stage.name, key: nil, reason: cached.contains(stage.name) ? .cached(output: .of(stage.name)) : .neverRun)
        }
    }

    func testEveryUncachedStageIsAJobAndAFanOutIsOneArrayAfterItsInputs() throws {
        let spec = try spec()
        let jobs = SlurmPlan.jobs(spec: spec, steps: steps(spec))
        XCTAssertEqual(jobs.map(\.name), ["g:a", "g:b", "g:t", "g:m", "g:solo"])
        XCTAssertEqual(jobs.map(\.stages), [["a"], ["b"], ["t[x]", "t[y]", "t[z]"], ["m"], ["solo"]])
        XCTAssertEqual(jobs.map(\.dependencies), [[], [], [0], [2], [1]])
        XCTAssertEqual(jobs.map(\.isArray), [false, false, true, false, false])
    }

    func testCachedStagesAreNotSubmittedAndNotWaitedFor() throws {
        let spec = try spec()
        let jobs = SlurmPlan.jobs(spec: spec, steps: steps(spec, cached: ["a", "b", "t[y]", "solo"]))
        XCTAssertEqual(jobs.map(\.stages), [["t[x]", "t[z]"], ["m"]])
        XCTAssertEqual(jobs.map(\.dependencies), [[], [0]])
    }

    func testSubmitterChainsAfterokDependenciesAndTheArrayScriptPicksTheTaskStage() throws {
        let spec = try spec()
        let slurm = FakeSlurm()
        var settings = SlurmSettings(executable: "/bin/btxpipe", pipeline: "/p/g.yaml", store: "/s", remotes: ["http://r/x"], logDirectory: "/s/logs")
        settings.defaults.partition = "debug"
        let submitted = try SlurmSubmitter(commands: slurm, settings: settings).submit(SlurmPlan.jobs(spec: spec, steps: steps(spec)))
        XCTAssertEqual(submitted.map(\.id), ["101", "102", "103", "104", "105"])
        XCTAssertEqual(submitted[2].taskID(of: "t[z]"), "103_2")
        let (tool, arguments, script) = slurm.calls[2]
        XCTAssertEqual(tool, "sbatch")
        XCTAssertEqual(arguments, ["--parsable", "--job-name=g:t", "--kill-on-invalid-dep=yes", "--output=/s/logs/%x-%A_%a.out",
                                   "--open-mode=append", "--signal=B:TERM@60", "--requeue",
                                   "--dependency=afterok:101", "--array=0-2", "--partition=debug"])
        XCTAssertTrue(script.contains("stages=('t[x]' 't[y]' 't[z]')"), script)
        XCTAssertTrue(script.contains("'/bin/btxpipe' run '/p/g.yaml' --store '/s' --only \"$stage\" --remote 'http://r/x' -j 1 &"), script)
        XCTAssertEqual(slurm.calls[3].1[7], "--dependency=afterok:103")
        XCTAssertEqual(slurm.calls[3].1[3], "--output=/s/logs/%x-%j.out", "a single job's log is named by its id")
        XCTAssertEqual(submitted[3].logPath(of: "m"), "/s/logs/g:m-104.out")
        XCTAssertEqual(submitted[2].logPath(of: "t[y]"), "/s/logs/g:t-103_1.out")
    }

    /// A record of three jobs (a single one, an array of two, another single one) in a fresh store.
    private func savedJobs() throws -> (SlurmJobs, Store) {
        let store = try Store(root: FileManager.default.temporaryDirectory.appendingPathComponent("slurm-\(UUID().uuidString)"), report: { _ in })
        let jobs = SlurmJobs(store: store, pipeline: "g")
        try jobs.save([SubmittedJob(id: "7", name: "g:a", stages: ["a"], isArray: false, logDirectory: "/logs"),
                       SubmittedJob(id: "8", name: "g:t", stages: ["t[x]", "t[y]"], isArray: true, logDirectory: "/logs"),
                       SubmittedJob(id: "9", name: "g:m", stages: ["m"], isArray: false, logDirectory: "/logs")])
        return (jobs, store)
    }

    func testJobStatesComeFromSqueueIncludingPendingArraysRequeuesAndFailedJobsLogs() throws {
        let (jobs, store) = try savedJobs()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let slurm = FakeSlurm()
        slurm.squeue = "7    FAILED     0\n8_[0-1]   PENDING   2\n9  PENDING 0\n"
        XCTAssertEqual(jobs.states(using: slurm), ["a": "7 FAILED log: /logs/g:a-7.out", "t[x]": "8_0 PENDING requeued 2×",
                                                   "t[y]": "8_1 PENDING requeued 2×", "m": "9 PENDING"])
        XCTAssertEqual(slurm.calls.last?.1, ["-h", "-t", "all", "-j", "7,8,9", "-O", "JobArrayID:40,State:24,RestartCnt:8"])
    }

    func testCancelScancelsOnlyTheJobsStillPendingOrRunning() throws {
        let (jobs, store) = try savedJobs()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let slurm = FakeSlurm()
        slurm.squeue = "7 COMPLETED 0\n8_0 RUNNING 1\n8_1 PENDING 0\n9 PENDING 0\n"
        XCTAssertEqual(try jobs.cancel(using: slurm), ["8", "9"])
        XCTAssertEqual(slurm.calls.last?.0, "scancel")
        XCTAssertEqual(slurm.calls.last?.1, ["8", "9"])
        slurm.squeue = "7 COMPLETED 0\n8_0 CANCELLED 1\n"
        XCTAssertEqual(try jobs.cancel(using: slurm), [], "nothing left to cancel")
    }

    func testShardsSplitEveryFanOutByItemPositionAndTogetherCoverIt() throws {
        let spec = try spec()
        XCTAssertEqual(try Shard(parsing: "0/2").stages(of: spec), ["t[x]", "t[z]"])
        XCTAssertEqual(try Shard(parsing: "1/2").stages(of: spec), ["t[y]"])
        XCTAssertEqual(try Shard(parsing: "0/1").stages(of: spec), ["t[x]", "t[y]", "t[z]"])
        for bad in ["2/2", "-1/2", "1", "a/b", "0/0"] {
            XCTAssertThrowsError(try Shard(parsing: bad)) { XCTAssertTrue("\($0)".contains("expected i/n")) }
        }
    }
}

/// The batch script run by bash with a fake btxpipe and a fake scontrol on PATH.
final class SlurmScriptTests: XCTestCase {
    /// A stand-in btxpipe that runs for 10 s unless TERM makes it "checkpoint" and exit 130.
    private let checkpointingBtxpipe = """
        trap 'echo checkpointed >> "$(dirname "$0")/calls"; exit 130' TERM
        for i in $(seq 100); do sleep 0.1; done
        """

    private func runScript(btxpipe body: String, sendTerm: Bool, jobState: String = "RUNNING") throws -> (status: Int32, calls: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-script-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let calls = dir.appendingPathComponent("calls").path
        func tool(_ name: String, _ text: String) throws {
            let path = dir.appendingPathComponent(name).path
            try "#!/bin/bash\n\(text)\n".write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        try tool("btxpipe", "echo \"run $*\" >> '\(calls)'\n\(body)")
        try tool("scontrol", "echo \"scontrol $*\" >> '\(calls)'")
        try tool("squeue", "echo \(jobState)")
        let job = SlurmJob(name: "g:t", stages: ["t[x]", "t[y]"], dependencies: [], isArray: true)
        let settings = SlurmSettings(executable: dir.appendingPathComponent("btxpipe").path, pipeline: "/p/g.yaml",
                                     store: "/shared/s", remotes: [], logDirectory: "/shared/s/logs")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", SlurmSubmitter(commands: ProcessRunner(), settings: settings).script(job)]
        process.environment = ["PATH": "\(dir.path):/usr/bin:/bin", "SLURM_JOB_ID": "42", "SLURM_ARRAY_TASK_ID": "1"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        if sendTerm {
            let deadline = Date().addingTimeInterval(10)
            while !((try? String(contentsOfFile: calls, encoding: .utf8))?.contains("run") ?? false), Date() < deadline { usleep(20_000) }
            usleep(200_000)
            kill(process.processIdentifier, SIGTERM)
        }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: calls, encoding: .utf8)) ?? "")
    }

    func testTermBeforeTheTimeLimitReachesBtxpipeWhichCheckpointsAndTheJobRequeuesItself() throws {
        let (status, calls) = try runScript(btxpipe: checkpointingBtxpipe, sendTerm: true)
        XCTAssertEqual(status, 0, calls)
        XCTAssertEqual(calls.split(separator: "\n"), ["run run /p/g.yaml --store /shared/s --only t[y] -j 1", "checkpointed",
                                                     "scontrol requeue 42"])
    }

    func testACancelledJobCheckpointsButIsNotRequeued() throws {
        let (status, calls) = try runScript(btxpipe: checkpointingBtxpipe, sendTerm: true, jobState: "CANCELLED")
        XCTAssertEqual(status, 130, calls)
        XCTAssertEqual(calls.split(separator: "\n"), ["run run /p/g.yaml --store /shared/s --only t[y] -j 1", "checkpointed"])
    }

    func testAFailingStageIsNotRequeuedAndKeepsItsExitStatus() throws {
        let (status, calls) = try runScript(btxpipe: "exit 3", sendTerm: false)
        XCTAssertEqual(status, 3)
        XCTAssertFalse(calls.contains("scontrol"), calls)
    }
}
