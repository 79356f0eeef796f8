import Foundation
import TestSupport
import XCTest

/// `pipelines/smoke.yaml` end to end through the real binary: every stage produces its output, a
/// rerun recomputes nothing, and the report has its claims section.
final class SmokePipelineTests: XCTestCase {
    /// The checked-in pipelines folder (this file is Tests/btxpipeTests/…).
    private var pipelines: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("pipelines")
    }

    private func btx(_ arguments: [String], in dir: TemporaryDirectory) throws -> CommandResult {
        let result = try BTXPipeBinary.run(arguments, in: dir.url, environment: ["NO_COLOR": "1"])
        XCTAssertEqual(result.status, 0, "btxpipe \(arguments.joined(separator: " ")):\n\(result.stderr)")
        return result
    }

    func testSmokePipelineRunsEveryStageThenRerunsNothingAndReportsClaims() throws {
        let dir = try TemporaryDirectory()
        let spec = try String(contentsOf: pipelines.appendingPathComponent("smoke.yaml"), encoding: .utf8)
        try spec.write(toFile: dir.path("smoke.yaml"), atomically: false, encoding: .utf8)

        let first = try btx(["run", "smoke.yaml"], in: dir)
        let summary = try XCTUnwrap(first.stderr.split(separator: "\n").last { $0.hasPrefix("smoke: ") })
        XCTAssertTrue(summary.hasPrefix("smoke: ") && summary.contains(" ran") && !summary.contains("cached")
                      && !summary.contains("failed"), String(summary))

        let status = try btx(["status", "smoke.yaml"], in: dir)
        for stage in ["fetch[code]", "math", "tokenizer", "tokens[math]", "init", "seed", "expert[knowledge]", "dense",
                      "evaluate[seed]", "evaluate-btm", "report"] {
            XCTAssertTrue(status.stdout.contains(stage), "status lacks \(stage):\n\(status.stdout)")
        }

        let second = try btx(["run", "smoke.yaml"], in: dir)
        let rerun = try XCTUnwrap(second.stderr.split(separator: "\n").last { $0.hasPrefix("smoke: ") })
        XCTAssertFalse(rerun.contains(" ran"), "a rerun recomputed something: \(rerun)")
        XCTAssertTrue(rerun.contains(" cached"), String(rerun))

        let report = try btx(["report", "smoke.yaml"], in: dir)
        XCTAssertTrue(report.stdout.contains("## Claims of the BTX paper"), report.stdout)
        XCTAssertTrue(report.stdout.contains("| model | code | knowledge | math | average | mixed-domain | math acc. | compute |"), report.stdout)
        XCTAssertTrue(report.stdout.contains("| BTM (ensemble) |"), report.stdout)
        let html = try String(contentsOfFile: dir.path("report/smoke/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<svg"), "the HTML report has its charts")
        XCTAssertTrue(html.contains("data-chart=\"loss-matched-compute-flops\""), "loss against FLOPs, matched compute")
        XCTAssertTrue(html.contains("<h2>Wall time per stage</h2>"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path("report/smoke/report.json"))))
        let keys = Set((json as? [String: Any] ?? [:]).keys)
        XCTAssertTrue(keys.isSuperset(of: ["rows", "claims", "curves", "wall_times"]), "\(keys)")
        try checkMetrics(in: dir)
    }

    /// `btxpipe metrics` gives every training and evaluation stage's rows, with the stage as a column.
    private func checkMetrics(in dir: TemporaryDirectory) throws {
        let csv = try btx(["metrics", "smoke.yaml", "seed", "dense", "evaluate[seed]", "--format", "csv"], in: dir).stdout
        let lines = csv.split(separator: "\n").map(String.init)
        let header = lines.first?.split(separator: ",").map(String.init) ?? []
        XCTAssertEqual(Array(header.prefix(10)),
                       ["stage", "step", "tokens", "flops", "loss", "lr", "grad_norm", "aux_loss", "wall_s", "tokens_per_s"], csv)
        XCTAssertTrue(header.contains("domain") && header.contains("perplexity"), csv)
        let stages = Set(lines.dropFirst().compactMap { $0.split(separator: ",", omittingEmptySubsequences: false).first.map(String.init) })
        XCTAssertEqual(stages, ["seed", "dense", "evaluate[seed]"])
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == header.count })
        let jsonl = try btx(["metrics", "smoke.yaml", "seed"], in: dir).stdout
        XCTAssertTrue(jsonl.split(separator: "\n").allSatisfy { $0.hasPrefix("{\"aux_loss\":") }, jsonl)
        let table = try btx(["metrics", "smoke.yaml", "evaluate[seed]", "--format", "table"], in: dir).stdout
        XCTAssertTrue(table.hasPrefix("stage "), table)
    }
}
