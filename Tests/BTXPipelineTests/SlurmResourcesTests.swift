@testable import BTXPipeline
import BTXStore
import Foundation
import XCTest

/// Per-stage `resources:`, the pipeline's `slurm:` defaults and profile files: parsed, layered into
/// sbatch arguments, never part of a cache key, and refused in one located line when malformed.
final class SlurmResourcesTests: XCTestCase {
    private let stages = """
    stages:
      a: {kind: emit, params: {value: A}}
      t:
        foreach: [x, y]
        kind: join
        params: {separator: "${item}"}
        inputs: {parts: [a]}
    """

    private let resourced = """
    name: g
    slurm: {partition: cpu, time: "10", mem: 2G, grace: 30, sbatch_args: ["--exclusive"]}
    stages:
      a: {kind: emit, params: {value: A}, resources: {cpus: 1, time: 2:00}}
      t:
        foreach: [x, y]
        kind: join
        params: {separator: "${item}"}
        inputs: {parts: [a]}
        resources: {cpus: 4, mem: 8G, gres: "gpu:1", time: "1-02:00:00", account: btx, qos: high}
    """

    private func parse(_ text: String) throws -> PipelineSpec { try PipelineSpec.parse(text, file: "g.yaml", registry: Toy.registry) }

    /// Every stage's key with nothing cached (inputs' outputs stood in by their names' hashes).
    private func keys(_ spec: PipelineSpec) throws -> [String: ObjectHash] {
        let planner = try Planner(spec: spec, registry: Toy.registry)
        var outputs: [String: ObjectHash] = [:], keys: [String: ObjectHash] = [:]
        for name in planner.graph.order {
            let key = try XCTUnwrap(planner.key(of: planner.graph.stages[name]!, outputs: outputs))
            keys[name] = key.hash
            outputs[name] = .of("output of \(name)")
        }
        return keys
    }

    func testResourcesAndSlurmDefaultsAreNotPartOfAnyCacheKey() throws {
        let plain = try parse("name: g\n" + stages), withResources = try parse(resourced)
        XCTAssertEqual(withResources.stage("t[y]")?.resources.gres, "gpu:1")
        XCTAssertEqual(try keys(withResources), try keys(plain))
        XCTAssertEqual(try keys(plain).count, 3)
    }

    func testLayersGoProfileThenSlurmThenOptionsThenTheStageAndAFanOutArrayTakesItsStagesResources() throws {
        let spec = try parse(resourced)
        let jobs = SlurmPlan.jobs(spec: spec, steps: spec.stages.map { PlanStep(stage: $0.name, key: nil, reason: .neverRun) })
        var profile = SlurmResources()
        (profile.partition, profile.account, profile.sbatchArgs) = ("batch", "default-account", ["--constraint=avx2"])
        var options = SlurmResources()
        options.mem = "3G"
        var settings = SlurmSettings(executable: "/b", pipeline: "/p.yaml", store: "/s", remotes: [], logDirectory: "/l")
        settings.defaults = profile.overlaid(by: spec.slurm).overlaid(by: options)
        let submitter = SlurmSubmitter(commands: ProcessRunner(), settings: settings)
        let fixed = ["--parsable", "--kill-on-invalid-dep=yes", "--open-mode=append", "--requeue"]
        XCTAssertEqual(try submitter.sbatchArguments(jobs[0], dependencies: []).filter { !fixed.contains($0) && !$0.hasPrefix("--output") },
                       ["--job-name=g:a", "--signal=B:TERM@30", "--partition=cpu", "--time=2:00", "--cpus-per-task=1", "--mem=3G",
                        "--account=default-account", "--constraint=avx2", "--exclusive"])
        XCTAssertEqual(try submitter.sbatchArguments(jobs[1], dependencies: ["5"]).filter { !fixed.contains($0) && !$0.hasPrefix("--output") },
                       ["--job-name=g:t", "--signal=B:TERM@30", "--dependency=afterok:5", "--array=0-1", "--partition=cpu",
                        "--time=1-02:00:00", "--cpus-per-task=4", "--mem=8G", "--gres=gpu:1", "--account=btx", "--qos=high",
                        "--constraint=avx2", "--exclusive"])
    }

    func testAGraceNotShorterThanTheTimeLimitIsRefused() throws {
        let spec = try parse("name: g\nslurm: {time: \"1\", grace: 60}\n" + stages)
        let jobs = SlurmPlan.jobs(spec: spec, steps: spec.stages.map { PlanStep(stage: $0.name, key: nil, reason: .neverRun) })
        var settings = SlurmSettings(executable: "/b", pipeline: "/p.yaml", store: "/s", remotes: [], logDirectory: "/l")
        settings.defaults = spec.slurm
        XCTAssertThrowsError(try SlurmSubmitter(commands: ProcessRunner(), settings: settings).sbatchArguments(jobs[0], dependencies: [])) {
            XCTAssertEqual("\($0)", "job g:a: grace 60 s is not shorter than its time limit 1; raise `time` or lower `grace`")
        }
    }

    func testSlurmTimesParseInEverySyntaxSlurmAccepts() {
        let cases: [(String, Int??)] = [("30", 1800), ("5:30", 330), ("1:00:00", 3600), ("2-0", 172_800), ("1-2:30", 95_400),
                                        ("1-00:00:10", 86_410), ("UNLIMITED", .some(nil)), ("abc", nil), ("1:2:3:4", nil), ("-5", nil), ("", nil)]
        for (text, seconds) in cases { XCTAssertEqual(SlurmResources.seconds(ofSlurmTime: text), seconds, text) }
    }

    func testBadResourcesAreOneLineErrorsNamingFileLineAndField() {
        let bad: [(String, String)] = [
            ("resources: {cpus: 0}", "g.yaml:3:57: 'a.resources.cpus' must be a whole number of CPUs ≥ 1"),
            ("resources: {time: soon}", "g.yaml:3:57: 'a.resources.time' must be a Slurm time"),
            ("resources: {mem: lots}", "g.yaml:3:56: 'a.resources.mem' must be a memory size"),
            ("resources: {gpus: 1}", "g.yaml:3:51: unknown key 'gpus' in 'a.resources' (did you mean 'cpus'?)"),
            ("resources: {sbatch_args: [\"--array=0-3\"]}", "btxpipe does not set itself; '--array=0-3' is"),
            ("resources: {sbatch_args: \"--exclusive\"}", "'a.resources.sbatch_args' must be a list of sbatch options"),
            ("resources: {partition: \"a b\"}", "'a.resources.partition' must be a non-empty string without spaces"),
        ]
        for (field, expected) in bad {
            let text = "name: g\nstages:\n  a: {kind: emit, params: {value: A}, \(field)}\n"
            XCTAssertThrowsError(try parse(text), field) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }

    func testAProfileFileHoldsTheSameKeysAndItsErrorsNameTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("slurm.yaml").path, bad = dir.appendingPathComponent("bad.yaml").path
        try "partition: gpu\naccount: btx\ntime: \"4:00:00\"\nsbatch_args: [\"--exclusive\"]\n".write(toFile: good, atomically: true, encoding: .utf8)
        try "partition: gpu\ncpu: 4\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let profile = try SlurmResources.load(profile: good)
        XCTAssertEqual([profile.partition, profile.account, profile.time], ["gpu", "btx", "4:00:00"])
        XCTAssertEqual(profile.sbatchArgs, ["--exclusive"])
        XCTAssertThrowsError(try SlurmResources.load(profile: bad)) {
            XCTAssertEqual("\($0)", "\(bad):2:1: unknown key 'cpu' in 'profile' (did you mean 'cpus'?)")
        }
        XCTAssertThrowsError(try SlurmResources.load(profile: dir.appendingPathComponent("none.yaml").path)) {
            XCTAssertTrue("\($0)".contains("none.yaml: cannot read"), "\($0)")
        }
    }

    func testNodeLocalPathsAreRecognised() {
        XCTAssertNotNil(NodeLocalPath.reason("/tmp/store"))
        XCTAssertNotNil(NodeLocalPath.reason("/dev/shm/x/y"))
        XCTAssertNotNil(NodeLocalPath.reason("/var/tmp"))
        XCTAssertTrue(NodeLocalPath.reason("/tmp/s")?.contains("local to each node") ?? false)
        XCTAssertNil(NodeLocalPath.reason("/tmpfoo/store"))
    }
}
