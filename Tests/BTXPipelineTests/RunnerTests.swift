@testable import BTXPipeline
import BTXStore
import TestSupport
import XCTest

/// Collects a run's events.
final class RecordingObserver: RunObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []
    var events: [String] { lock.lock(); defer { lock.unlock() }; return collected }
    private func add(_ event: String) { lock.lock(); collected.append(event); lock.unlock() }
    func stageStarted(_ stage: String, key: ObjectHash) { add("start \(stage)") }
    func stageEnded(_ result: StageResult) { add("end \(result.stage)") }
    func note(_ line: String) { add("note \(line)") }
    func log(stage: String, line: String) { add("log \(stage): \(line)") }
    func progress(stage: String, step: Int, total: Int, fields: [String: Double]) { add("progress \(stage) \(step)/\(total)") }
}

final class RunnerTests: XCTestCase {
    private let text = Toy.fanInSpec

    private func run(_ text: String, store: Store, configure: (inout RunOptions) -> Void = { _ in },
                     observer: RunObserver = RecordingObserver()) throws -> [String: StageOutcome] {
        let spec = try PipelineSpec.parse(text, file: "r.yaml", registry: Toy.registry)
        var options = RunOptions()
        options.jobs = 2
        configure(&options)
        let runner = try Runner(spec: spec, registry: Toy.registry, store: store, options: options, observer: observer)
        return Dictionary(uniqueKeysWithValues: try runner.run().map { ($0.stage, $0.outcome) })
    }

    private func kinds(_ outcomes: [String: StageOutcome]) -> [String: String] {
        outcomes.mapValues { outcome in
            switch outcome {
            case .cached: return "cached"
            case .ran: return "ran"
            case .failed: return "failed"
            case .cancelled: return "cancelled"
            case .skipped(let input): return "skipped(\(input))"
            case .notStarted: return "not started"
            }
        }
    }

    func testFirstRunComputesEveryStageAndRerunComputesNothing() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let first = try run(text, store: store)
        XCTAssertEqual(kinds(first), ["a": "ran", "t[x]": "ran", "t[y]": "ran", "m": "ran"])
        let output = try store.manifest(XCTUnwrap(first["m"]?.output))
        XCTAssertEqual(output.metadata["value"], "A+x+y")
        let second = try run(text, store: store)
        XCTAssertEqual(kinds(second), ["a": "cached", "t[x]": "cached", "t[y]": "cached", "m": "cached"])
        XCTAssertEqual(second["m"]?.output, first["m"]?.output)
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: dir.path("locks")).isEmpty)
    }

    /// A stage that runs alone gets every core; stages that start together share them.
    func testThreadsFollowTheStagesRunningAtOnce() throws {
        let text = """
        name: th
        stages:
          a: {kind: emit, params: {value: A}}
          b: {kind: join, inputs: {parts: [a]}}
          t: {foreach: [x, y], kind: join, params: {separator: "${item}"}, inputs: {parts: [b]}}
          m: {kind: join, inputs: {parts: ['t[*]']}}
        """
        let dir = try TemporaryDirectory()
        let observer = RecordingObserver()
        _ = try run(text, store: try Store(root: dir.url), configure: { $0.cores = 4 }, observer: observer)
        let threads = observer.events.filter { $0.contains(": threads ") }.sorted()
        XCTAssertEqual(threads, ["log b: threads 4", "log m: threads 4", "log t[x]: threads 2", "log t[y]: threads 2"])
        var options = RunOptions()
        (options.cores, options.jobs) = (2, 3)
        XCTAssertEqual([1, 2, 3, 5].map { options.threads(concurrent: $0) }, [2, 1, 1, 1])
    }

    func testFailureSkipsDependentsAndStopsUnlessKeepGoing() throws {
        let text = """
        name: f
        stages:
          bad: {kind: fail}
          after: {kind: join, inputs: {parts: [bad]}}
          other: {kind: emit}
        """
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let stopped = try run(text, store: store) { $0.jobs = 1 }
        XCTAssertEqual(kinds(stopped), ["bad": "failed", "after": "skipped(bad)", "other": "not started"])
        let kept = try run(text, store: store) { $0.jobs = 1; $0.keepGoing = true }
        XCTAssertEqual(kinds(kept), ["bad": "failed", "after": "skipped(bad)", "other": "ran"])
        let last = try XCTUnwrap(StoreState(store: store).lastRun(pipeline: "f", stage: "bad"))
        XCTAssertEqual(last.outcome, .failed)
        XCTAssertEqual(last.error, "toy failure")
        let log = try store.object(XCTUnwrap(store.record(last.record).log))
        XCTAssertEqual(String(decoding: log, as: UTF8.self), "about to fail\nerror: toy failure\n")
    }

    func testCancelledStageResumesFromItsCheckpoint() throws {
        let text = "name: c\nstages:\n  n: {kind: count, params: {steps: 5, cancel_at: 3}}\n"
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        XCTAssertEqual(kinds(try run(text, store: store)), ["n": "cancelled"])
        XCTAssertEqual(StoreState(store: store).lastRun(pipeline: "c", stage: "n")?.outcome, .cancelled)
        let observer = RecordingObserver()
        let resumed = try run(text, store: store, observer: observer)
        XCTAssertEqual(kinds(resumed), ["n": "ran"])
        XCTAssertTrue(observer.events.contains("note n: resuming from its checkpoint"))
        let last = try XCTUnwrap(StoreState(store: store).lastRun(pipeline: "c", stage: "n"))
        XCTAssertEqual(try store.record(last.record).metrics["resumed_from"], 3)
        XCTAssertEqual(observer.events.filter { $0.hasPrefix("progress") }, ["progress n 4/5", "progress n 5/5"])
        XCTAssertNil(try store.ref("checkpoint/\(last.key.hash.hex)"))
    }

    func testAnInterruptedStagesCheckpointGoesToTheRemotesAndAnotherMachineResumesFromIt() throws {
        let text = "name: c\nstages:\n  n: {kind: count, params: {steps: 5, cancel_at: 3}}\n"
        let dir = try TemporaryDirectory()
        let remote = try RemoteCacheSet(remotes: [RemoteStore(config: RemoteConfig(name: "shared", url: "file://" + dir.path("remote")),
                                                               options: HTTPOptions())], report: { _ in })
        let spec = try PipelineSpec.parse(text, file: "r.yaml", registry: Toy.registry)
        func runner(_ store: Store, _ observer: RunObserver) throws -> Runner {
            let runner = try Runner(spec: spec, registry: Toy.registry, store: store, options: RunOptions(), observer: observer)
            runner.remoteCache = remote
            return runner
        }
        let first = try Store(root: dir.url.appendingPathComponent("node1"))
        XCTAssertEqual(kinds(Dictionary(uniqueKeysWithValues: try runner(first, RecordingObserver()).run().map { ($0.stage, $0.outcome) })),
                       ["n": "cancelled"])
        let second = try Store(root: dir.url.appendingPathComponent("node2"))
        let observer = RecordingObserver()
        XCTAssertEqual(kinds(Dictionary(uniqueKeysWithValues: try runner(second, observer).run().map { ($0.stage, $0.outcome) })), ["n": "ran"])
        XCTAssertTrue(observer.events.contains("note n: resuming from its checkpoint"), "\(observer.events)")
        let last = try XCTUnwrap(StoreState(store: second).lastRun(pipeline: "c", stage: "n"))
        XCTAssertEqual(try second.record(last.record).metrics["resumed_from"], 3, "node 2 continued where node 1 stopped")
    }

    func testTwoRunnersOnOneStoreComputeEachStageOnce() throws {
        let text = "name: d\nstages:\n  n: {kind: count, params: {steps: 30}}\n  e: {kind: join, inputs: {parts: [n]}}\n"
        let dir = try TemporaryDirectory()
        let lock = NSLock()
        var outcomes: [[String: StageOutcome]] = []
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            let result = try? run(text, store: Store(root: dir.url))
            lock.lock(); outcomes.append(result ?? [:]); lock.unlock()
        }
        for stage in ["n", "e"] {
            XCTAssertEqual(outcomes.map { kinds($0)[stage] ?? "none" }.sorted(), ["cached", "ran"], stage)
        }
    }

    func testOnlyRunsTheTargetWithCachedInputs() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        _ = try run(text, store: store) { $0.targets = ["t"] }
        let only = try run(text.replacingOccurrences(of: "value: A", with: "value: B"), store: store) {
            $0.targets = ["t[x]"]; $0.only = true
        }
        XCTAssertEqual(kinds(only), ["t[x]": "cached"])
        XCTAssertThrowsError(try run(text, store: store) { $0.targets = ["m"]; $0.only = true })
    }
}
