import Foundation
import TestSupport
import XCTest

/// End-to-end tests of `run plan status dag show explain log unlock` through the real binary.
final class PipelineCommandTests: XCTestCase {
    /// A pipeline of the small `text`/`concat` kinds; `slow` checkpoints each of its steps.
    private func pipeline(steps: Int = 3, sleepMs: Int = 1, greeting: String = "hello") -> String {
        """
        name: e2e
        vars: {greeting: \(greeting)}
        stages:
          seed: {kind: text, params: {text: "${vars.greeting}"}}
          part:
            foreach: [a, b, c]
            kind: text
            params: {text: "part ${item}", steps: \(steps), sleep_ms: \(sleepMs)}
          slow:
            kind: concat
            params: {steps: \(steps * 4), sleep_ms: \(sleepMs)}
            inputs: {parts: [seed, "part[*]"]}
        """
    }

    private func setUp(_ text: String) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try text.write(toFile: dir.path("p.yaml"), atomically: false, encoding: .utf8)
        return dir
    }

    @discardableResult
    private func btx(_ arguments: [String], in dir: TemporaryDirectory, expect status: Int32 = 0) throws -> CommandResult {
        let result = try BTXPipeBinary.run(arguments, in: dir.url, environment: ["NO_COLOR": "1"])
        XCTAssertEqual(result.status, status, "btxpipe \(arguments.joined(separator: " ")):\n\(result.stderr)")
        return result
    }

    /// Starts `btxpipe ARGS` without waiting.
    private func start(_ arguments: [String], in dir: TemporaryDirectory) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = BTXPipeBinary.url
        process.arguments = arguments
        process.currentDirectoryURL = dir.url
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, err)
    }

    /// Waits (up to 20 s) until a run holds the lock of `stage`, then `extra` seconds more.
    private func waitUntilRunning(_ stage: String, in dir: TemporaryDirectory, extra: Double = 0.3) {
        let locks = dir.url.appendingPathComponent("store/locks")
        for _ in 0..<400 {
            let files = (try? FileManager.default.contentsOfDirectory(at: locks, includingPropertiesForKeys: nil)) ?? []
            if files.contains(where: { (try? String(contentsOf: $0, encoding: .utf8))?.contains("\"stage\":\"\(stage)\"") == true }) {
                usleep(useconds_t(extra * 1_000_000))
                return
            }
            usleep(50_000)
        }
        XCTFail("\(stage) never started")
    }

    /// The output manifest hash `show` prints for `stage`.
    private func output(of stage: String, in dir: TemporaryDirectory, store: String = "store") throws -> String {
        let shown = try btx(["show", "p.yaml", stage, "--store", store], in: dir).stdout
        return shown.split(separator: "\n").first { $0.hasPrefix("output ") }.map(String.init) ?? "no output in:\n\(shown)"
    }

    func testSecondRunComputesNothingAndPlanAndStatusSaySo() throws {
        let dir = try setUp(pipeline())
        let first = try btx(["run", "p.yaml", "-j", "2"], in: dir)
        XCTAssertTrue(first.stderr.hasSuffix("e2e: 5 ran\n"), first.stderr)
        let second = try btx(["run", "p.yaml"], in: dir)
        XCTAssertTrue(second.stderr.hasSuffix("e2e: 5 cached\n"), second.stderr)
        XCTAssertFalse(second.stderr.contains("run "), second.stderr)
        let plan = try btx(["plan", "p.yaml"], in: dir).stdout
        XCTAssertTrue(plan.hasPrefix("e2e: 0 to run, 5 cached\n"), plan)
        let status = try btx(["status", "p.yaml"], in: dir).stdout.split(separator: "\n")
        XCTAssertEqual(status.count, 6)
        XCTAssertTrue(status.dropFirst().allSatisfy { $0.contains(" cached ") }, status.joined(separator: "\n"))
    }

    func testChangedVariableIsExplainedAndRerunsOnlyWhatDependsOnIt() throws {
        let dir = try setUp(pipeline())
        try btx(["run", "p.yaml"], in: dir)
        try pipeline(greeting: "bye").write(toFile: dir.path("p.yaml"), atomically: false, encoding: .utf8)
        let plan = try btx(["plan", "p.yaml"], in: dir).stdout
        XCTAssertTrue(plan.contains("e2e: 2 to run, 3 cached"), plan)
        XCTAssertTrue(plan.contains("run     seed     changed: params.text: \"hello\" → \"bye\""), plan)
        let explained = try btx(["explain", "p.yaml", "slow"], in: dir).stdout
        XCTAssertTrue(explained.hasPrefix("slow: would run: its inputs run first:\n  seed: would run: its key changed since the last run ("), explained)
        XCTAssertTrue(explained.hasSuffix("    params.text: \"hello\" → \"bye\"\n"), explained)
        let status = try btx(["status", "p.yaml"], in: dir).stdout
        XCTAssertTrue(status.contains("slow     stale"), status)
        let rerun = try btx(["run", "p.yaml"], in: dir)
        XCTAssertTrue(rerun.stderr.hasSuffix("e2e: 2 ran, 3 cached\n"), rerun.stderr)
    }

    func testBadSpecExitsTwoWithOneLocatedLine() throws {
        let dir = try setUp(pipeline().replacingOccurrences(of: "kind: concat", with: "kind: concatt"))
        let result = try btx(["plan", "p.yaml"], in: dir, expect: 2)
        XCTAssertEqual(result.stderr, "btxpipe: p.yaml:10:11: stage 'slow': unknown kind 'concatt' (did you mean 'concat'?)\n")
    }

    func testFailedStageExitsOneNamingItAndItsLog() throws {
        let dir = try setUp(pipeline().replacingOccurrences(of: "parts: [seed, \"part[*]\"]", with: "parts: [seed]")
            .replacingOccurrences(of: "kind: text, params: {text: \"${vars.greeting}\"}", with: "kind: concat, inputs: {parts: []}"))
        let result = try btx(["run", "p.yaml", "--keep-going"], in: dir, expect: 1)
        XCTAssertTrue(result.stderr.contains("btxpipe: stage 'seed' failed: input 'parts' is required (log: btxpipe log p.yaml 'seed')"), result.stderr)
        XCTAssertTrue(result.stderr.contains("e2e: 3 ran, 1 failed, 1 skipped"), result.stderr)
        XCTAssertEqual(try btx(["log", "p.yaml", "seed"], in: dir).stdout, "error: input 'parts' is required\n")
    }

    func testKillNineAtARandomMomentThenRerunReachesIdenticalHashes() throws {
        let dir = try setUp(pipeline(steps: 5, sleepMs: 10))
        try btx(["run", "p.yaml", "--store", "reference"], in: dir)
        var generator = SystemRandomNumberGenerator()
        let delay = Double.random(in: 0.1...1.0, using: &generator)
        let (process, _) = try start(["run", "p.yaml", "-j", "2"], in: dir)
        usleep(useconds_t(delay * 1_000_000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try btx(["run", "p.yaml", "-j", "2"], in: dir)
        for stage in ["seed", "part[a]", "part[c]", "slow"] {
            XCTAssertEqual(try output(of: stage, in: dir), try output(of: stage, in: dir, store: "reference"),
                           "\(stage) after kill -9 at \(delay)s")
        }
    }

    func testKillNineMidStageLeavesALockTheNextRunTakesOverAndResumes() throws {
        let dir = try setUp(pipeline(steps: 10, sleepMs: 20))   // slow: 40 steps of 20 ms
        try btx(["run", "p.yaml", "part"], in: dir)
        let (process, _) = try start(["run", "p.yaml"], in: dir)
        waitUntilRunning("slow", in: dir)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let status = try btx(["status", "p.yaml"], in: dir).stdout
        XCTAssertTrue(status.contains("slow     missing"), status)
        let rerun = try btx(["run", "p.yaml"], in: dir)
        XCTAssertTrue(rerun.stderr.contains("slow: took over the lock left by a dead process: slow (host "), rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("slow: resuming from its checkpoint"), rerun.stderr)
        XCTAssertTrue(try btx(["unlock", "p.yaml"], in: dir).stdout == "no locks\n")
    }

    func testInterruptExits130AndRerunResumesFromTheCheckpoint() throws {
        let dir = try setUp(pipeline(steps: 10, sleepMs: 20))
        try btx(["run", "p.yaml", "part"], in: dir)
        let (process, err) = try start(["run", "p.yaml"], in: dir)
        waitUntilRunning("slow", in: dir)
        process.interrupt()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, stderr)
        XCTAssertTrue(stderr.contains("cancelled slow"), stderr)
        let log = try btx(["log", "p.yaml", "slow"], in: dir).stdout
        XCTAssertTrue(log.hasPrefix("cancelled at step "), log)
        let step = log.dropFirst("cancelled at step ".count).prefix { $0.isNumber }
        try btx(["run", "p.yaml"], in: dir)
        XCTAssertTrue(try btx(["log", "p.yaml", "slow"], in: dir).stdout.hasPrefix("resuming at step \(step) of 40\n"))
    }

    func testTwoConcurrentRunsOnOneStoreComputeEachStageOnce() throws {
        let dir = try setUp(pipeline(steps: 5, sleepMs: 20))
        let runs = try (0..<2).map { _ in try start(["run", "p.yaml", "-j", "2"], in: dir) }
        var ran = 0
        for (process, err) in runs {
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, stderr)
            let summary = String(stderr.split(separator: "\n").last ?? "")
            if let range = summary.range(of: #"[0-9]+ ran"#, options: .regularExpression) {
                ran += Int(summary[range].prefix { $0.isNumber }) ?? 0
            }
        }
        XCTAssertEqual(ran, 5)
    }

    func testDagPrintsTreeDotAndMermaid() throws {
        let dir = try setUp(pipeline())
        XCTAssertEqual(try btx(["dag", "p.yaml"], in: dir).stdout, """
        slow (concat)
        ├── parts.0: seed (text)
        ├── parts.1: part[a] (text)
        ├── parts.2: part[b] (text)
        └── parts.3: part[c] (text)

        """)
        XCTAssertTrue(try btx(["dag", "p.yaml", "--format", "dot"], in: dir).stdout.contains("\"part[b]\" -> \"slow\" [label=\"parts.2\"];"))
        XCTAssertTrue(try btx(["dag", "p.yaml", "--format", "mermaid"], in: dir).stdout.contains("s0 -->|parts.0| s4"))
    }

    func testShowGivesLineageOutputsMetricsAndLog() throws {
        let dir = try setUp(pipeline())
        try btx(["run", "p.yaml"], in: dir)
        let shown = try btx(["show", "p.yaml", "part[b]"], in: dir).stdout
        for expected in ["stage   part[b]\n", "kind    text\n", "params  {\"sleep_ms\":1,\"steps\":3,\"text\":\"part b\"}\n",
                         "status  cached", "  object text ", "metrics {\"bytes\":6}\n", "log\n  wrote 6 bytes as "] {
            XCTAssertTrue(shown.contains(expected), "missing \(expected) in:\n\(shown)")
        }
    }
}
