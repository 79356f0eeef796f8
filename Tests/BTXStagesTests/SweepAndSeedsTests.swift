@testable import BTXStages
import BTXPipeline
import BTXStore
import TestSupport
import XCTest

/// The regime sweep's summary (`SweepResults`, `SweepStage`) and the multi-seed summary (`SeedSummary`)
/// on fake evaluations and reports.
final class SweepAndSeedsTests: XCTestCase {
    /// A dev evaluation whose 40 sequences per domain have losses `loss ± 0.05` (so paired differences
    /// are exact), labelled with `point`.
    private func evaluation(_ name: String, _ role: String, point: String, domain: String? = nil, _ losses: [String: Double],
                            split: String = "dev") -> (manifest: Manifest, input: String) {
        var domains: [String: JSONValue] = [:]
        for (d, loss) in losses {
            domains[d] = ["loss": .double(loss), "sequence_losses": .array((0..<40).map { .double(loss + ($0 % 2 == 0 ? 0.05 : -0.05)) })]
        }
        var metadata: [String: JSONValue] = ["name": .string(name), "role": .string(role), "split": .string(split),
                                             "grid_point": .string(point), "domains": .object(domains),
                                             "domain_order": ["code", "math"], "held_out": ["split": .string(split)],
                                             "compute": ["flops": 2e15, "tokens": 1000]]
        if let domain { metadata["expert_domain"] = .string(domain) }
        return (Manifest(kind: "evaluation", metadata: metadata), "results.\(name).\(point)")
    }

    /// Point "long": both experts beat dense and BTX keeps 0.8 of their gain; point "short": the code
    /// expert loses to dense and BTX keeps 0.2 (the mix before its finetune keeps nothing).
    private var evaluations: [(manifest: Manifest, input: String)] {
        [evaluation("seed", "seed", point: "", ["code": 3.0, "math": 2.0]),
         evaluation("dense", "dense", point: "d-short", ["code": 2.7, "math": 1.6]),
         evaluation("dense", "dense", point: "d-long", ["code": 2.6, "math": 1.5]),
         evaluation("expert code", "expert", point: "short", domain: "code", ["code": 2.8, "math": 2.5]),
         evaluation("expert math", "expert", point: "short", domain: "math", ["code": 3.3, "math": 1.5]),
         evaluation("BTX before finetune", "variant", point: "short", ["code": 3.0, "math": 2.0]),
         evaluation("BTX top-2", "btx", point: "short", ["code": 2.96, "math": 1.9]),
         evaluation("expert code", "expert", point: "long", domain: "code", ["code": 2.5, "math": 2.6]),
         evaluation("expert math", "expert", point: "long", domain: "math", ["code": 3.4, "math": 1.0]),
         evaluation("BTX before finetune", "variant", point: "long", ["code": 2.9, "math": 1.9]),
         evaluation("BTX top-2", "btx", point: "long", ["code": 2.6, "math": 1.2])]
    }

    private let points = [SweepResults.Point(name: "short", experts: "short", dense: "d-short"),
                          SweepResults.Point(name: "long", experts: "long", dense: "d-long")]

    func testSweepTellsWhereExpertsBeatDenseAndHowMuchOfTheirGainBTXKeeps() throws {
        let sweep = try SweepResults(points: points, evaluations: evaluations)
        XCTAssertEqual(sweep.domains, ["code", "math"])
        let short = sweep.points[0], long = sweep.points[1]
        XCTAssertEqual(short.domains["code"]!.expertMinusDense.point, 0.1, accuracy: 1e-9)
        XCTAssertEqual(short.domains["code"]!.expertMinusDense.below(0), .notHeld)
        XCTAssertEqual(short.domains["math"]!.expertMinusDense.point, -0.1, accuracy: 1e-9)
        XCTAssertEqual(short.domains["code"]!.btxKept, 0.2, accuracy: 1e-9)
        XCTAssertEqual(short.domains["code"]!.mixKept, 0, accuracy: 1e-9)
        XCTAssertFalse(short.expertsPay)
        XCTAssertFalse(short.btxKeepsMost)
        XCTAssertEqual(long.domains["code"]!.btxKept, 0.8, accuracy: 1e-9)
        XCTAssertEqual(long.domains["math"]!.btxKept, 0.8, accuracy: 1e-9)
        XCTAssertEqual(long.domains["math"]!.mixKept, 0.1, accuracy: 1e-9)
        XCTAssertTrue(long.expertsPay)
        XCTAssertTrue(long.btxKeepsMost)

        let table = SweepStage.table(sweep)
        XCTAssertEqual(table[2], "| short | 2.00 PFLOP | code | +0.100 [+0.100, +0.100] | 0.20 | 0.00 |")
        XCTAssertEqual(table[4], "| long | 2.00 PFLOP | code | -0.100 [-0.100, -0.100] \u{2713} | 0.80 \u{2713} | 0.20 |")
        XCTAssertTrue(table.contains("- long: experts beat dense on 2/2 domains; BTX keeps over half the gain on 2/2; BTX's average dev loss 1.9000 — specialisation pays and survives the merge"),
                      table.joined(separator: "\n"))
        XCTAssertTrue(table.contains("- short: experts beat dense on 1/2 domains; BTX keeps over half the gain on 0/2; BTX's average dev loss 2.4300"), table.joined(separator: "\n"))
        let chart = SweepStage.textChart(sweep)
        XCTAssertEqual(chart.count, 1 + 4)
        // long/code: expert − dense −0.1, a fifth of the largest magnitude (long/math's −0.5, a full bar);
        // BTX keeps 0.8, 0.3 right of ½.
        XCTAssertTrue(chart[3].hasPrefix("long   code          ##|         -0.100 \u{2713} "), chart.joined(separator: "\n"))
        XCTAssertTrue(chart[4].hasPrefix("       math    ########|         -0.500 \u{2713} "), chart.joined(separator: "\n"))
        XCTAssertTrue(chart[3].hasSuffix("        |#####    0.80 \u{2713}"), chart.joined(separator: "\n"))
        let html = SweepStage.html(sweep, title: "t")
        XCTAssertTrue(html.contains("data-chart=\"sweep-expert-minus-dense\"") && html.contains("data-chart=\"sweep-share-kept\""))
        XCTAssertTrue(html.contains("<tr><td></td><td></td><td>math</td><td>-0.100 [-0.100, -0.100] \u{2713}</td>"), "a point's second row: empty name and compute")
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"), "no external assets")
        // A duplicate row and an expert whose gain is not beyond doubt.
        XCTAssertThrowsError(try SweepResults(points: points, evaluations: evaluations + [evaluations[6]])) {
            XCTAssertTrue("\($0)".contains("a btx row at grid_point 'short' is scored twice"), "\($0)")
        }
        var flat = evaluations
        flat[3] = evaluation("expert code", "expert", point: "short", domain: "code", ["code": 3.0, "math": 2.5])
        let noGain = try SweepResults(points: points, evaluations: flat).points[0].domains["code"]!
        XCTAssertTrue(noGain.btxKept.isNaN || !noGain.btxKept.isFinite)
        XCTAssertFalse(noGain.btxKeepsMost, "no gain, nothing to keep")
        XCTAssertEqual(SweepStage.textChart(try SweepResults(points: points, evaluations: flat)).count, 5, "a NaN share draws no bar")
    }

    func testSweepRefusesTestScoresAndNamesWhatIsMissing() throws {
        var test = evaluations
        test[3] = evaluation("expert code", "expert", point: "short", domain: "code", ["code": 2.8, "math": 2.5], split: "test")
        XCTAssertThrowsError(try SweepResults(points: points, evaluations: test)) {
            XCTAssertTrue("\($0)".contains("was scored on the test split: the sweep chooses on the dev split only"), "\($0)")
        }
        XCTAssertThrowsError(try SweepResults(points: points, evaluations: evaluations.filter { !$0.input.hasPrefix("results.BTX top-2.long") })) {
            XCTAssertTrue("\($0)".contains("sweep point 'long' has no btx row with grid_point 'long'"), "\($0)")
        }
        XCTAssertThrowsError(try SweepResults(points: [SweepResults.Point(name: "short", experts: "short", dense: "d-none")], evaluations: evaluations)) {
            XCTAssertTrue("\($0)".contains("no dense row with grid_point 'd-none'"), "\($0)")
        }
        XCTAssertThrowsError(try SweepResults(points: points, evaluations: Array(evaluations.dropFirst()))) {
            XCTAssertTrue("\($0)".contains("sweep point 'short' needs its seed's dev evaluation (role seed, no grid_point)"), "\($0)")
        }
        XCTAssertThrowsError(try SweepResults(points: [SweepResults.Point(name: "short", experts: "short", dense: "d-short", seed: "wide")],
                                              evaluations: evaluations)) {
            XCTAssertTrue("\($0)".contains("sweep point 'short' needs its seed's dev evaluation (role seed, grid_point 'wide')"), "\($0)")
        }
        XCTAssertThrowsError(try SweepResults(points: points, evaluations: evaluations + [evaluations[0]])) {
            XCTAssertTrue("\($0)".contains("a seed row at grid_point '' is scored twice"), "\($0)")
        }
        XCTAssertThrowsError(try SweepResults(points: points, evaluations: evaluations + [evaluation("dense", "dense", point: "", ["code": 2.7, "math": 1.6])])) {
            XCTAssertTrue("\($0)".contains("has no grid_point: only a seed row may belong to every point"), "\($0)")
        }
        XCTAssertThrowsError(try SweepStage().validate(StageParams(["points": [["name": "a"]]]))) {
            XCTAssertTrue("\($0)".contains("points"), "\($0)")
        }
    }

    func testSweepStageWritesAReportWithThePointsThatPay() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var inputs: [String: Manifest] = [:]
        for (i, e) in evaluations.enumerated() { inputs["results.\(i)"] = e.manifest }
        let params: [String: JSONValue] = ["points": .array(points.map { ["name": .string($0.name), "dense": .string($0.dense)] })]
        let output = try SweepStage().run(StageFixtures.context(store, params: params, inputs: inputs))
        XCTAssertEqual(output.kind, "report")
        XCTAssertEqual(output.metadata["experts_pay_and_btx_keeps_most"], ["long"])
        let json = try JSONValue.parse(try store.object(try XCTUnwrap(output.objects["report.json"])))
        XCTAssertEqual(json["points"]?.arrayValue?.map { $0["experts_pay"]?.boolValue }, [false, true])
        XCTAssertNotNil(output.objects["report.html"])
        XCTAssertTrue(String(decoding: try store.object(output.objects["report.md"]!), as: UTF8.self).contains("| point | compute (BTX) |"))
        // A point may share another's experts and mix (here: "long" finetuned again, as "long-2").
        var more = evaluations
        more.append(evaluation("BTX top-2", "btx", point: "long-2", ["code": 2.55, "math": 1.1]))
        let shared = try SweepResults(points: points + [SweepResults.Point(name: "long-2", experts: "long", dense: "d-long")], evaluations: more)
        XCTAssertEqual(shared.points[2].domains["code"]!.btxKept, 0.9, accuracy: 1e-9)
        XCTAssertEqual(shared.points[2].domains["code"]!.mixKept, 0.2, accuracy: 1e-9)
    }

    /// A point of another model size branches from its own seed (a seed row with that point's
    /// `grid_point`): its gains are measured from that seed, the other points' from the shared one.
    func testAPointOfAnotherModelSizeIsMeasuredFromItsOwnSeed() throws {
        let wide = evaluations + [
            evaluation("seed", "seed", point: "wide", ["code": 2.5, "math": 1.8]),
            evaluation("dense", "dense", point: "d-wide", ["code": 2.2, "math": 1.4]),
            evaluation("expert code", "expert", point: "wide", domain: "code", ["code": 2.0, "math": 2.6]),
            evaluation("expert math", "expert", point: "wide", domain: "math", ["code": 3.4, "math": 1.0]),
            evaluation("BTX before finetune", "variant", point: "wide", ["code": 2.4, "math": 1.7]),
            evaluation("BTX top-2", "btx", point: "wide", ["code": 2.1, "math": 1.2])]
        let sweep = try SweepResults(points: points + [SweepResults.Point(name: "wide", experts: "wide", dense: "d-wide", seed: "wide")],
                                     evaluations: wide)
        XCTAssertEqual(sweep.points[2].domains["code"]!.gain.point, 0.5, accuracy: 1e-9, "from the wide seed's 2.5, not the shared 3.0")
        XCTAssertEqual(sweep.points[2].domains["code"]!.btxKept, 0.8, accuracy: 1e-9)
        XCTAssertEqual(sweep.points[2].domains["math"]!.btxKept, 0.75, accuracy: 1e-9)
        XCTAssertEqual(sweep.points[1].domains["code"]!.btxKept, 0.8, accuracy: 1e-9, "the shared seed's points are unchanged")
        XCTAssertEqual(SweepStage.json(sweep, title: "t")["points"]?.arrayValue?.map { $0["seed"]?.stringValue }, ["", "", "wide"])
        let params = try SweepResults.points(StageParams(["points": [["name": "wide", "dense": "d-wide", "seed": "wide"]]]))
        XCTAssertEqual(params, [SweepResults.Point(name: "wide", experts: "wide", dense: "d-wide", seed: "wide")])
        XCTAssertThrowsError(try SweepResults.points(StageParams(["points": [["name": "wide", "dense": "d-wide", "seed": 3]]]))) {
            XCTAssertTrue("\($0)".contains("seed: TEXT (optional)"), "\($0)")
        }
    }

    /// A report.json as `ReportRenderer.json` writes it, with two rows and two claims.
    private func report(seedLoss: Double, btxLoss: Double, claim2: String) -> JSONValue {
        ["domains": ["code", "math"],
         "rows": [["name": "seed", "losses": ["code": .double(seedLoss), "math": .double(seedLoss - 1)], "average_loss": .double(seedLoss - 0.5),
                   "mixed_loss": .double(seedLoss + 0.5)],
                  ["name": "BTX top-2", "losses": ["code": .double(btxLoss), "math": .double(btxLoss - 1)], "average_loss": .double(btxLoss - 0.5),
                   "mixed_loss": .double(btxLoss + 0.5)]],
         "claims": [["statement": "Experts specialise.", "verdict": "held"], ["statement": "BTX wins.", "verdict": .string(claim2)]]]
    }

    func testSeedSummaryGivesEachCellsMeanAndSDAndEachClaimsVerdicts() throws {
        let summary = try SeedSummary(seeds: [1, 2, 3], reports: [report(seedLoss: 3.0, btxLoss: 2.0, claim2: "held"),
                                                                   report(seedLoss: 3.2, btxLoss: 2.2, claim2: "inconclusive"),
                                                                   report(seedLoss: 3.4, btxLoss: 2.1, claim2: "held")])
        XCTAssertEqual(summary.columns, ["code", "math", "average", "mixed"])
        let lines = summary.markdownLines
        XCTAssertEqual(lines[0], "Held-out loss, nats/token: mean ± standard deviation over 3 runs (seeds 1, 2, 3).")
        XCTAssertEqual(lines[2], "| model | code | math | average | mixed |")
        XCTAssertEqual(lines[4], "| seed | 3.200 ± 0.200 | 2.200 ± 0.200 | 2.700 ± 0.200 | 3.700 ± 0.200 |")
        XCTAssertEqual(lines[5], "| BTX top-2 | 2.100 ± 0.100 | 1.100 ± 0.100 | 1.600 ± 0.100 | 2.600 ± 0.100 |")
        XCTAssertTrue(lines.contains("| (2) BTX wins. | held | inconclusive | held | 2 of 3 |"), lines.joined(separator: "\n"))
        XCTAssertEqual(summary.json["rows"]?.arrayValue?.first?["columns"]?["code"]?["values"], [3.0, 3.2, 3.4])
        XCTAssertThrowsError(try SeedSummary(seeds: [1], reports: [report(seedLoss: 3, btxLoss: 2, claim2: "held")])) {
            XCTAssertTrue("\($0)".contains("at least two runs"), "\($0)")
        }
        var other = report(seedLoss: 3, btxLoss: 2, claim2: "held")
        other = ["domains": ["code"], "rows": other["rows"]!, "claims": other["claims"]!]
        XCTAssertThrowsError(try SeedSummary(seeds: [1, 2], reports: [report(seedLoss: 3, btxLoss: 2, claim2: "held"), other])) {
            XCTAssertTrue("\($0)".contains("the report of seed 2 has other domains than seed 1's"), "\($0)")
        }
    }
}
