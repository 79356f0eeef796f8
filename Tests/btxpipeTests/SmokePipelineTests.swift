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
        XCTAssertTrue(report.stdout.contains("| model | code | knowledge | math | average | mixed-domain | code task top-1 / exact | knowledge task top-1 / exact | math task top-1 / exact | math acc. | compute |"), report.stdout)
        XCTAssertTrue(report.stdout.contains("Task columns: on the same held-out sequences as the loss, the spans after a marker"), report.stdout)
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

    /// pipelines/tune.yaml's grid on the smoke pipeline's sizes: every method trains at every rate, is
    /// scored on the dev split and gets a winner; a rerun recomputes nothing; `report` prints the grid.
    func testTuneGridPicksEachMethodsRateOnDevThenRerunsNothing() throws {
        let dir = try TemporaryDirectory()
        try runTwiceOnSmoke("tune.yaml", in: dir)
        let report = try btx(["report", "tune.yaml"], in: dir).stdout
        XCTAssertTrue(report.contains("| method | lr 1e-4 | lr 3e-4 | lr 1e-3 | lr 3e-3 | lr 1e-2 | winner |"), report)
        for method in ["dense (matched)", "sparse upcycling (matched)", "BTX top-2"] {
            XCTAssertTrue(report.contains("| \(method) | "), "\(method) missing:\n\(report)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path("report/tune/report.json"))))
        let methods = (json as? [String: Any])?["methods"] as? [[String: Any]] ?? []
        XCTAssertEqual(methods.count, 3)
        XCTAssertTrue(methods.allSatisfy { ($0["winner"] as? [String: Any])?["learning_rate"] is Double }, "\(methods)")
    }

    /// smoke.yaml and smoke-base.yaml (smoke.yaml plus the vars btx.yaml has and its layers use) in `dir`.
    private func writeSmokeBase(in dir: TemporaryDirectory) throws {
        let smoke = try String(contentsOf: pipelines.appendingPathComponent("smoke.yaml"), encoding: .utf8)
        try smoke.write(toFile: dir.path("smoke.yaml"), atomically: false, encoding: .utf8)
        try """
        extends: smoke.yaml
        name: smoke-base
        vars:
          train: {batch_size: 4, sequence_length: 32}
          finetune: {steps: 6, warmup_steps: 2}
          learning_rate: {dense: 0.01, upcycling: 0.005, btx: 0.005}
        """.write(toFile: dir.path("smoke-base.yaml"), atomically: false, encoding: .utf8)
    }

    /// Runs pipelines/`file` (a layer over btx.yaml) on the smoke pipeline's sizes in `dir`: the first run
    /// computes, a second computes nothing.
    private func runTwiceOnSmoke(_ file: String, in dir: TemporaryDirectory, overrides: [String] = []) throws {
        try writeSmokeBase(in: dir)
        let layer = try String(contentsOf: pipelines.appendingPathComponent(file), encoding: .utf8)
        let dropped = ["  mix-hidden: null", "  btx-hidden: null"]  // stages btx.yaml has and smoke.yaml lacks
        XCTAssertTrue(layer.contains("extends: btx.yaml") && dropped.allSatisfy(layer.contains), "\(file) changed shape")
        try layer.replacingOccurrences(of: "extends: btx.yaml", with: "extends: smoke-base.yaml")
            .split(separator: "\n", omittingEmptySubsequences: false).filter { !dropped.contains(String($0)) }
            .joined(separator: "\n").write(toFile: dir.path(file), atomically: false, encoding: .utf8)
        let name = file.replacingOccurrences(of: ".yaml", with: "")
        let first = try btx(["run", file] + overrides, in: dir)
        let summary = try XCTUnwrap(first.stderr.split(separator: "\n").last { $0.hasPrefix("\(name): ") })
        XCTAssertTrue(summary.contains(" ran") && !summary.contains("failed"), String(summary))
        let second = try btx(["run", file] + overrides, in: dir)
        let rerun = try XCTUnwrap(second.stderr.split(separator: "\n").last { $0.hasPrefix("\(name): ") })
        XCTAssertFalse(rerun.contains(" ran"), "a rerun recomputed something: \(rerun)")
    }

    /// pipelines/sweep.yaml on the smoke pipeline's sizes (its other model sizes and their seeds shrunk
    /// by `--set`): every point's experts, mix, BTX and dense are trained and scored on dev, the sweep
    /// stage reports each point; a rerun recomputes nothing.
    func testSweepReportsEveryPointOnDevThenRerunsNothing() throws {
        let dir = try TemporaryDirectory()
        let size = { (hidden: Int, layers: Int) in
            "{hidden_size: \(hidden), intermediate_size: \(3 * hidden), num_hidden_layers: \(layers), num_attention_heads: 2, "
                + "max_position_embeddings: 64, tie_word_embeddings: false}"
        }
        let overrides = ["--set", "models.narrow=\(size(16, 1))", "--set", "models.deep=\(size(32, 3))",
                         "--set", "models.wide=\(size(48, 2))", "--set", "vars.size_seed={steps: 20, learning_rate: 0.01}"]
        try runTwiceOnSmoke("sweep.yaml", in: dir, overrides: overrides)
        let report = try btx(["report", "sweep.yaml"] + overrides, in: dir).stdout
        XCTAssertTrue(report.contains("| point | compute (BTX) | domain | expert − dense | BTX keeps | mix keeps (before finetune) |"), report)
        for point in ["e150-lr1e-3", "e150-lr3e-3", "e450-lr1e-3", "e450-lr3e-3", "narrow-e150-lr3e-3", "narrow-e450-lr3e-3",
                      "deep-e450-lr3e-3", "wide-e150-lr3e-3"] {
            XCTAssertTrue(report.contains("| \(point) | "), "\(point) missing:\n\(report)")
        }
        let html = try String(contentsOfFile: dir.path("report/sweep/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("data-chart=\"sweep-expert-minus-dense\""), "the sweep's plot")
    }

    /// The same pipeline run with two seeds (`--set vars.seed=N`), summarised by `report --seeds`:
    /// mean ± sd per row and each claim's verdict per seed; a seed that has not run is named.
    func testReportSeedsSummarisesRunsWithEachSeed() throws {
        let dir = try TemporaryDirectory()
        try writeSmokeBase(in: dir)
        _ = try btx(["run", "smoke.yaml"], in: dir)
        _ = try btx(["run", "smoke.yaml", "--set", "vars.seed=2"], in: dir)
        let report = try btx(["report", "smoke.yaml", "--seeds", "1,2"], in: dir).stdout
        XCTAssertTrue(report.contains("mean ± standard deviation over 2 runs (seeds 1, 2)"), report)
        XCTAssertTrue(report.contains("| model | code | knowledge | math | average | mixed |"), report)
        XCTAssertTrue(report.contains("| BTX top-2 | "), report)
        XCTAssertTrue(report.contains("| claim | seed 1 | seed 2 | held in |"), report)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path("report/smoke-seeds/report.json"))))
        XCTAssertEqual((json as? [String: Any])?["seeds"] as? [Int], [1, 2])
        let rows = (json as? [String: Any])?["rows"] as? [[String: Any]] ?? []
        let btxAverage = (rows.first { $0["name"] as? String == "BTX top-2" }?["columns"] as? [String: Any])?["average"] as? [String: Any]
        XCTAssertGreaterThan(btxAverage?["sd"] as? Double ?? 0, 0, "two seeds train different models: \(rows)")

        let missing = try BTXPipeBinary.run(["report", "smoke.yaml", "--seeds", "1,3"], in: dir.url, environment: ["NO_COLOR": "1"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("has not run yet: btxpipe run smoke.yaml --set vars.seed=3"), missing.stderr)
        let bad = try BTXPipeBinary.run(["report", "smoke.yaml", "--seeds", "1"], in: dir.url, environment: ["NO_COLOR": "1"])
        XCTAssertTrue(bad.status != 0 && bad.stderr.contains("--seeds expects at least two distinct seeds"), bad.stderr)
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
