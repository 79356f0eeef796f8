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
        settings.partition = "debug"
        let submitted = try SlurmSubmitter(commands: slurm, settings: settings).submit(SlurmPlan.jobs(spec: spec, steps: steps(spec)))
        XCTAssertEqual(submitted.map(\.id), ["101", "102", "103", "104", "105"])
        XCTAssertEqual(submitted[2].taskID(of: "t[z]"), "103_2")
        let (tool, arguments, script) = slurm.calls[2]
        XCTAssertEqual(tool, "sbatch")
        XCTAssertEqual(arguments, ["--parsable", "--job-name=g:t", "--kill-on-invalid-dep=yes", "--output=/s/logs/%x-%A_%a.out",
                                   "--dependency=afterok:101", "--array=0-2", "--partition=debug"])
        XCTAssertTrue(script.contains("stages=('t[x]' 't[y]' 't[z]')"), script)
        XCTAssertTrue(script.contains("exec '/bin/btxpipe' run '/p/g.yaml' --store '/s' --only \"$stage\" --remote 'http://r/x' -j 1"), script)
        XCTAssertEqual(slurm.calls[3].1[4], "--dependency=afterok:103")
    }

    func testJobStatesComeFromSqueueIncludingPendingArrays() throws {
        let store = try Store(root: FileManager.default.temporaryDirectory.appendingPathComponent("slurm-\(UUID().uuidString)"), report: { _ in })
        defer { try? FileManager.default.removeItem(at: store.root) }
        let jobs = SlurmJobs(store: store, pipeline: "g")
        try jobs.save([SubmittedJob(id: "7", name: "g:a", stages: ["a"], isArray: false),
                       SubmittedJob(id: "8", name: "g:t", stages: ["t[x]", "t[y]"], isArray: true)])
        let slurm = FakeSlurm()
        slurm.squeue = "7 COMPLETED\n8_[0-1] PENDING\n"
        XCTAssertEqual(jobs.states(using: slurm), ["a": "7 COMPLETED", "t[x]": "8_0 PENDING", "t[y]": "8_1 PENDING"])
        XCTAssertEqual(slurm.calls.last?.1, ["-h", "-t", "all", "-j", "7,8", "-o", "%i %T"])
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
