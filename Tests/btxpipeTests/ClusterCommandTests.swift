import BTXStore
import Foundation
import TestSupport
import XCTest

/// `submit` on a shared-filesystem store with per-stage resources and a profile, a job signalled as at
/// its time limit that checkpoints, requeues and resumes, and `cancel`, on a real one-node Slurm.
final class ClusterCommandTests: XCTestCase {
    /// A seed, a slow stage (40 checkpointed steps of 250 ms) and a fan-out over it.
    private let pipeline = """
    name: cluster
    slurm: {time: "5", grace: 30}
    stages:
      seed: {kind: text, params: {text: "seed"}}
      slow:
        kind: concat
        params: {separator: "+", steps: 40, sleep_ms: 250}
        inputs: {parts: [seed, seed]}
        resources: {cpus: 1, mem: 100M}
      train:
        foreach: [code, math]
        kind: concat
        params: {separator: " ${item} "}
        inputs: {parts: [slow]}
        resources: {cpus: 1}
    """

    private var dir: TemporaryDirectory!

    override func setUpWithError() throws {
        dir = try TemporaryDirectory()
        try pipeline.write(toFile: dir.path("p.yaml"), atomically: false, encoding: .utf8)
        try "partition: debug\nsbatch_args: [\"--nice=0\"]\n".write(toFile: dir.path("profile.yaml"), atomically: false, encoding: .utf8)
        try "name: long\nstages:\n  wait: {kind: text, params: {text: w, steps: 400, sleep_ms: 250}}\n"
            .write(toFile: dir.path("long.yaml"), atomically: false, encoding: .utf8)
    }

    override func tearDown() { dir = nil }

    /// Stage key → output manifest hash, from a store's action cache.
    private func outputs(_ store: String) throws -> [String: String] {
        let actions = dir.url.appendingPathComponent("\(store)/actions/v1")
        var outputs: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: actions.path) where name.count == 64 {
            let entry = try JSONValue.parse(Data(contentsOf: actions.appendingPathComponent(name)))
            outputs[name] = entry["output"]?.stringValue
        }
        return outputs
    }

    func testSubmitRefusesANodeLocalStoreWithoutARemoteAndNamesABadProfileAndCancelWithoutJobsSaysSo() throws {
        func btx(_ arguments: [String]) throws -> CommandResult { try BTXPipeBinary.run(arguments, in: dir.url, environment: ["NO_COLOR": "1"]) }
        let refused = try btx(["submit", "p.yaml", "--store", dir.path("store")])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("the store must be on a filesystem every node sees"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("which is local to each node"), refused.stderr)
        try "partition: debug\ncpus: many\n".write(toFile: dir.path("bad.yaml"), atomically: false, encoding: .utf8)
        let bad = try btx(["submit", "p.yaml", "--store", dir.path("store"), "--single-node", "--profile", "bad.yaml"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertEqual(bad.stderr, "btxpipe: bad.yaml:2:7: 'profile.cpus' must be a whole number of CPUs ≥ 1\n")
        let cancel = try btx(["cancel", "p.yaml", "--store", dir.path("store")])
        XCTAssertEqual(cancel.status, 0, cancel.stderr)
        XCTAssertEqual(cancel.stdout, "no submitted jobs for cluster\n")
    }

    func testSharedStoreSubmissionRequeuesAtTheTimeLimitResumesAndMatchesALocalRunAndCancelLeavesNoJobs() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/slurm_submit.sh")
        let result = try runProcess(URL(fileURLWithPath: "/bin/bash"), [script.path, BTXPipeBinary.url.path, dir.url.path, "requeue"],
                                    environment: ["NO_COLOR": "1"])
        if result.status == 77 { throw XCTSkip(result.stdout) }
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        print(result.stdout)
        // "== status requeued 1764.2" is the section "status requeued"; its number is a time stamp.
        let sections = Dictionary(result.stdout.components(separatedBy: "== ").map { section -> (String, String) in
            let words = section.prefix { $0 != "\n" }.split(separator: " ")
            return (words.filter { !($0.first?.isNumber ?? false) }.joined(separator: " "), section)
        }, uniquingKeysWith: { a, _ in a })
        func time(_ section: String) -> Double? {
            Double(sections[section]?.prefix { $0 != "\n" }.split(separator: " ").last ?? "")
        }
        XCTAssertTrue(sections["refused"]?.contains("every node sees") ?? false, result.stdout)
        XCTAssertTrue(sections["status requeued"]?.contains("requeued 1×") ?? false, result.stdout)
        let after = sections["status after"] ?? ""
        XCTAssertEqual(after.split(separator: "\n").filter { $0.contains(" cached ") && $0.contains("COMPLETED") }.count, 4, result.stdout)
        let log = sections["slow log"] ?? ""
        for line in ["TERM before the time limit", "requeueing job", "restart 1", "resuming from its checkpoint"] {
            XCTAssertTrue(log.contains(line), "the slow stage's log says '\(line)':\n\(log)")
        }
        let local = try outputs("local"), cluster = try outputs("cluster")
        XCTAssertEqual(local.count, 4)
        XCTAssertEqual(cluster.filter { local[$0.key] != nil }, local, "every stage has the same key and output as the local run")
        let cancel = sections["cancel"] ?? ""
        XCTAssertTrue(cancel.contains("cancelled 1 job(s)"), result.stdout)
        XCTAssertTrue(cancel.contains("no job of long is pending or running"), result.stdout)
        XCTAssertEqual(sections["left"]?.split(separator: "\n").count, 1, "no job is left in the queue: \(result.stdout)")
        if let term = time("term"), let requeued = time("status requeued"), let done = time("done") {
            print("requeue timing: TERM → requeued \(String(format: "%.1f", requeued - term)) s, TERM → all done \(String(format: "%.1f", done - term)) s")
        }
    }
}
