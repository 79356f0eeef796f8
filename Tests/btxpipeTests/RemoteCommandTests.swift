import Foundation
import TestSupport
import XCTest

/// End-to-end tests of `push`, `pull`, `run --remote`, `run --shard` and `submit --executor slurm`
/// through the real binary, with nginx (WebDAV PUT) on 127.0.0.1 as the shared remote.
final class RemoteCommandTests: XCTestCase {
    /// A seed, three "experts" (a fan-out, one per item) and a mix of all of them.
    private let pipeline = """
    name: shards
    remotes:
      - {name: shared, url: "REMOTE"}
    stages:
      seed: {kind: text, params: {text: "seed"}}
      train:
        foreach: [code, math, prose]
        kind: concat
        params: {separator: " ${item} ", steps: 2, sleep_ms: 1}
        inputs: {parts: [seed, seed]}
      mix: {kind: concat, inputs: {parts: "train[*]"}}
    """

    private var dir: TemporaryDirectory!
    private var nginx: NginxServer!

    override func setUpWithError() throws {
        dir = try TemporaryDirectory()
        nginx = try NginxServer(root: dir.url.appendingPathComponent("nginx"))
        try pipeline.replacingOccurrences(of: "REMOTE", with: "\(nginx.baseURL)/btx")
            .write(toFile: dir.path("p.yaml"), atomically: false, encoding: .utf8)
    }

    override func tearDown() {
        nginx?.stop()
        nginx = nil
        dir = nil
    }

    @discardableResult
    private func btx(_ arguments: [String], environment: [String: String] = [:], expect status: Int32 = 0) throws -> CommandResult {
        let result = try BTXPipeBinary.run(arguments, in: dir.url, environment: environment.merging(["NO_COLOR": "1"]) { $1 })
        XCTAssertEqual(result.status, status, "btxpipe \(arguments.joined(separator: " ")):\n\(result.stdout)\n\(result.stderr)")
        return result
    }

    /// The summary line `shards: …` of a run.
    private func summary(_ result: CommandResult) -> String {
        result.stderr.split(separator: "\n").last { $0.hasPrefix("shards: ") }.map(String.init) ?? result.stderr
    }

    func testThreeMachinesShareOneRemoteAndTheLastComputesOnlyWhatIsLeft() throws {
        let one = try btx(["run", "p.yaml", "--store", "m1", "--remote", "shared", "--shard", "0/2"])
        XCTAssertTrue(one.stderr.contains("shard 0/2: train[code], train[prose]"), one.stderr)
        XCTAssertEqual(summary(one), "shards: 3 ran")
        let two = try btx(["run", "p.yaml", "--store", "m2", "--remote", "shared", "--shard", "1/2"])
        XCTAssertEqual(summary(two), "shards: 1 ran, 1 cached", "machine 2 pulls the seed machine 1 pushed")
        let three = try btx(["run", "p.yaml", "--store", "m3", "--remote", "shared"])
        XCTAssertEqual(summary(three), "shards: 1 ran, 4 cached", "machine 3 pulls seed and experts, computes the mix")
        let status = try btx(["status", "p.yaml", "--store", "m3"]).stdout
        XCTAssertEqual(status.split(separator: "\n").filter { $0.contains(" cached ") }.count, 5, status)
    }

    func testPushThenPullCommandsMoveEveryStageAndReportWhatTheyDid() throws {
        try btx(["run", "p.yaml", "--store", "a"])
        let pushed = try btx(["push", "p.yaml", "--store", "a"]).stdout
        XCTAssertEqual(pushed.split(separator: "\n").filter { $0.contains("pushed to shared") }.count, 5, pushed)
        XCTAssertTrue(try btx(["push", "p.yaml", "--store", "a", "mix"]).stdout.contains("mix  already on shared"))
        let pulled = try btx(["pull", "p.yaml", "--store", "b", "--remote", "\(nginx.baseURL)/btx"]).stdout
        XCTAssertEqual(pulled.split(separator: "\n").filter { $0.hasSuffix("  pulled") }.count, 5, pulled)
        XCTAssertTrue(summary(try btx(["run", "p.yaml", "--store", "b"])).hasSuffix("5 cached"))
    }

    func testQuietPullPrintsItsResultsButNoTransferNotes() throws {
        try btx(["run", "p.yaml", "--store", "a", "--remote", "shared"])
        let loud = try btx(["pull", "p.yaml", "--store", "b"])
        XCTAssertTrue(loud.stderr.contains("btxpipe: pull"), "the notes -q must silence exist: \(loud.stderr)")
        let quiet = try btx(["pull", "p.yaml", "--store", "c", "-q"])
        XCTAssertEqual(quiet.stderr, "", "-q leaves stderr to errors")
        XCTAssertEqual(quiet.stdout.split(separator: "\n").filter { $0.hasSuffix("  pulled") }.count, 5, quiet.stdout)
    }

    func testNoPushRunConsumesWithoutPublishing() throws {
        try btx(["run", "p.yaml", "--store", "a", "--remote", "shared", "--no-push", "seed"])
        let pulled = try btx(["pull", "p.yaml", "--store", "b"]).stdout
        XCTAssertTrue(pulled.contains("seed  not on the remotes"), pulled)
        let bad = try btx(["run", "p.yaml", "--store", "a", "--remote", "elsewhere"], expect: 2)
        XCTAssertTrue(bad.stderr.contains("no remote named 'elsewhere' (known: shared"), bad.stderr)
    }

    func testSlurmSubmissionRunsEveryStageAsJobsThatShareThroughTheRemote() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/slurm_submit.sh")
        let result = try runProcess(URL(fileURLWithPath: "/bin/bash"), [script.path, BTXPipeBinary.url.path, dir.url.path],
                                    environment: ["NO_COLOR": "1"])
        if result.status == 77 { throw XCTSkip(result.stdout) }
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        print(result.stdout)
        let sections = result.stdout.components(separatedBy: "== ")
        let jobs = sections.first { $0.hasPrefix("submit") }?.split(separator: "\n").dropFirst() ?? []
        XCTAssertEqual(jobs.count, 3, "seed, the train array, mix: \(result.stdout)")
        XCTAssertTrue(jobs.dropFirst().first?.contains("shards:train") ?? false, result.stdout)
        let after = sections.first { $0.hasPrefix("status after") } ?? ""
        XCTAssertEqual(after.split(separator: "\n").filter { $0.contains("COMPLETED") }.count, 5, result.stdout)
        let pulled = try btx(["pull", "p.yaml", "--store", "check"]).stdout
        XCTAssertEqual(pulled.split(separator: "\n").filter { $0.hasSuffix("  pulled") }.count, 5, "every job pushed its stage:\n\(pulled)")
    }
}
