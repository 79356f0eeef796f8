@testable import BTXStages
import BTXPipeline
import BTXTensor
import XCTest

/// A fake row whose 40 held-out sequences per domain have losses `loss ± 0.05` (mean exactly `loss`):
/// every paired difference between two such rows is the same, so the bootstrap interval is a point.
private func row(_ name: String, _ role: String, expertDomain: String? = nil, _ losses: [String: Double], mathAccuracy: Double? = nil,
                 flops: Double, routing: [[String: [Double]]]? = nil, routingExperts: [String] = []) -> ReportRow {
    ReportRow(name: name, role: role, expertDomain: expertDomain, losses: losses, mathAccuracy: mathAccuracy, flops: flops,
              routing: routing, routingExperts: routingExperts,
              sequenceLosses: losses.mapValues { loss in (0..<40).map { loss + ($0 % 2 == 0 ? 0.05 : -0.05) } })
}

final class ReportRendererTests: XCTestCase {
    /// A fixed, fake results set in which every claim holds except (3) and (5).
    private let data = ReportData(title: "BTX test", domains: ["code", "math"], rows: [
        row("seed", "seed", ["code": 3.0, "math": 3.0], flops: 1e15),
        row("expert code", "expert", expertDomain: "code", ["code": 2.0, "math": 3.5], flops: 2e15),
        row("expert math", "expert", expertDomain: "math", ["code": 3.5, "math": 1.5], mathAccuracy: 0.25, flops: 2e15),
        row("dense", "dense", ["code": 2.6, "math": 2.2], flops: 4e15),
        row("BTM", "btm", ["code": 2.2, "math": 1.8], flops: 3e15),
        row("upcycling", "upcycling", ["code": 2.0, "math": 1.5], flops: 4e15),
        row("BTX top-2", "btx", ["code": 2.1, "math": 1.6], mathAccuracy: 0.3, flops: 4e15,
            routing: [["code": [0.7, 0.2, 0.1], "math": [0.1, 0.8, 0.1]]], routingExperts: ["code", "math", "seed"]),
    ])

    func testTableHasOneRowPerModelWithBestLossInBold() {
        let table = ReportRenderer.table(data)
        XCTAssertEqual(table[0], "| model | code | math | average | math acc. | compute |")
        XCTAssertEqual(table[2], "| seed | 3.000 | 3.000 | 3.000 | – | 1.00 PFLOP |")
        XCTAssertEqual(table[3], "| expert code | **2.000** | 3.500 | 2.750 | – | 2.00 PFLOP |")
        XCTAssertEqual(table[8], "| BTX top-2 | 2.100 | 1.600 | 1.850 | 30.0% | 4.00 PFLOP |")
        XCTAssertEqual(table.count, 2 + 7)
    }

    func testTaskColumnsShowEachDomainsExactSpansWithTheBestInBold() {
        var rows = data.rows
        rows[0].tasks = ["code": SpanScore(correct: 10, total: 40, tokensCorrect: 30, tokens: 60),
                         "math": SpanScore(correct: 5, total: 20, tokensCorrect: 40, tokens: 50)]
        rows[0].taskDescriptions = ["code": "identifier after '.'", "math": "rest of the line after 'Answer:'"]
        rows[6].tasks = ["code": SpanScore(correct: 20, total: 40, tokensCorrect: 45, tokens: 60),
                         "math": SpanScore(correct: 2, total: 20, tokensCorrect: 20, tokens: 50)]
        let tasks = ReportData(title: "t", domains: ["code", "math"], rows: rows)
        let table = ReportRenderer.table(tasks)
        XCTAssertEqual(table[0], "| model | code | math | average | code task top-1 / exact | math task top-1 / exact | math acc. | compute |")
        XCTAssertEqual(table[2], "| seed | 3.000 | 3.000 | 3.000 | 50.0% / 25.0% | **80.0% / 25.0%** | – | 1.00 PFLOP |")
        XCTAssertEqual(table[3], "| expert code | **2.000** | 3.500 | 2.750 | – | – | – | 2.00 PFLOP |")
        XCTAssertEqual(table[8], "| BTX top-2 | 2.100 | 1.600 | 1.850 | **75.0% / 50.0%** | 40.0% / 10.0% | 30.0% | 4.00 PFLOP |")
        XCTAssertTrue(ReportRenderer.taskNote(tasks).contains("code: identifier after '.' (40 spans, 60 tokens); math: rest of the line after 'Answer:' (20 spans, 50 tokens)"),
                      ReportRenderer.taskNote(tasks))
        XCTAssertTrue(ReportRenderer.markdown(tasks).contains(ReportRenderer.taskNote(tasks)))
        let json = ReportRenderer.json(tasks)
        XCTAssertEqual(json["tasks"]?["code"], "identifier after '.'")
        XCTAssertEqual(json["rows"]?.arrayValue?[6]["tasks"]?["code"]?["correct"], 20)
        var floor = rows
        floor[0].tasks["code"] = SpanScore(correct: 0, total: 40, tokensCorrect: 0, tokens: 60)
        floor[6].tasks["code"] = SpanScore(correct: 0, total: 40, tokensCorrect: 0, tokens: 60)
        XCTAssertFalse(ReportRenderer.table(ReportData(title: "t", domains: ["code", "math"], rows: floor)).joined().contains("**0.0%"),
                       "nobody best at the floor")
        XCTAssertEqual(ReportRenderer.taskNote(data), "", "no task, no note")
        XCTAssertFalse(ReportRenderer.table(data)[0].contains("task"))
    }

    func testClaimLinesGiveVerdictsWithTheirIntervals() {
        let lines = ReportRenderer.claimLines(data)
        XCTAssertEqual(lines[0], "1. **held** — Each expert beats the seed on its own domain and is worse than the other experts on theirs. (own-domain loss minus seed's, 95% interval: expert code -1.000 [-1.000, -1.000]; expert math -1.500 [-1.500, -1.500]; every expert is worse than the domain's own expert elsewhere)")
        XCTAssertEqual(lines[1], "2. **held** — BTX beats BTM and the compute-matched dense model on average. (average loss BTX 1.850, BTM 2.000, dense 2.400; BTX − BTM -0.150 [-0.150, -0.150], BTX − dense -0.550 [-0.550, -0.550])")
        XCTAssertEqual(lines[2], "3. **not held** — At matched compute BTX is at least as good as sparse upcycling on average. (average loss BTX 1.850 (4.00 PFLOP), upcycling 1.750 (4.00 PFLOP); BTX − upcycling +0.100 [+0.100, +0.100])")
        XCTAssertEqual(lines[3], "4. **held** — Tokens of each domain are routed mostly to that domain's expert. (code→code 70%, math→math 80% (uniform: 33%); point estimates: the evaluation has no per-sequence routing)")
        // Shares kept: code (3 − 2.1) / (3 − 2) = 0.90, math (3 − 1.6) / (3 − 1.5) = 0.93; margins over
        // half the gain: 0.9 − 0.5 = 0.4 and 1.4 − 0.75 = 0.65.
        XCTAssertEqual(lines[4], "5. **held** — BTX keeps most (over half) of each expert's in-domain gain over the seed. (share of each expert's gain over the seed that BTX keeps, and the 95% interval of the loss kept minus half the gain: code: 0.90 of the gain kept; kept − ½·gain +0.400 [+0.400, +0.400]; math: 0.93 of the gain kept; kept − ½·gain +0.650 [+0.650, +0.650])")
    }

    /// Claim 4 from per-sequence routing: 40 sequences per domain whose own expert gets `own` (± `noise`)
    /// of their assignments and the two others half the rest each.
    func testClaim4IsDecidedByABootstrapOverEachSequencesRoutingShares() {
        func claim(own: Double, noise: Double) -> Claim {
            var rng = SplitMix64(seed: 3)
            func sequences(ownExpert: Int) -> [[Double]] {
                (0..<40).map { _ in
                    let share = min(max(own + noise * (Double(rng.next() % 1001) / 500 - 1), 0), 1)
                    var row = [Double](repeating: (1 - share) / 2, count: 3)
                    row[ownExpert] = share
                    return row
                }
            }
            var rows = data.rows
            rows[6].sequenceRouting = ["code": sequences(ownExpert: 0), "math": sequences(ownExpert: 1)]
            return ReportData(title: "t", domains: data.domains, rows: rows).routingFollowsDomains
        }
        let clear = claim(own: 0.7, noise: 0.1)
        XCTAssertEqual(clear.verdict, "held", clear.evidence)
        XCTAssertTrue(clear.evidence.contains("code→code 70% (own − largest other +5"), clear.evidence)
        XCTAssertFalse(clear.evidence.contains("point estimates"), clear.evidence)
        // Own 36% against 32% for each other expert, with per-sequence spread ±30 points: within noise.
        XCTAssertEqual(claim(own: 0.36, noise: 0.3).verdict, "inconclusive", claim(own: 0.36, noise: 0.3).evidence)
        XCTAssertEqual(claim(own: 0.1, noise: 0.05).verdict, "not held", "the others get 45% each")
    }

    func testEachModelsComputeAndTokensAreListedStageByStage() {
        let seed = TrainingHistory.Run(stage: "seed", steps: 10, tokens: 2048, flops: 1e12, curve: [])
        let expert = TrainingHistory.Run(stage: "expert[code]", steps: 5, tokens: 1024, flops: 5e11, curve: [])
        let rows = [ReportRow(name: "seed", role: "seed", losses: ["code": 3], flops: 1e12, history: TrainingHistory(runs: [seed])),
                    ReportRow(name: "expert code", role: "expert", expertDomain: "code", losses: ["code": 2], flops: 1.5e12,
                              history: TrainingHistory(runs: [seed, expert])),
                    ReportRow(name: "BTM", role: "btm", losses: ["code": 2], flops: 0)]
        let lines = ReportRenderer.lineageTable(ReportData(title: "t", domains: ["code"], rows: rows))
        XCTAssertEqual(lines, ["| model | stage | steps | tokens | compute |", "|---|---|---|---|---|",
                               "| seed | seed | 10 | 2048 | 1.00 TFLOP |",
                               "| expert code | seed | 10 | 2048 | 1.00 TFLOP |", "|  | expert[code] | 5 | 1024 | 500.00 GFLOP |",
                               "|  | total | 15 | 3072 | 1.50 TFLOP |"])
        let data = ReportData(title: "t", domains: ["code"], rows: rows)
        XCTAssertTrue(ReportRenderer.markdown(data).contains("## Compute of each model, stage by stage"))
        XCTAssertTrue(ReportRenderer.html(data).contains("<tr><td></td><td>expert[code]</td><td>5</td><td>1024</td><td>500.00 GFLOP</td></tr>"))
        XCTAssertTrue(ReportRenderer.html(data).contains("<tr><td></td><td>total</td><td>15</td><td>3072</td><td>1.50 TFLOP</td></tr>"))
        XCTAssertFalse(ReportRenderer.markdown(self.data).contains("## Compute of each model"), "no section without training runs")
        XCTAssertEqual(ReportRenderer.json(data)["rows"]?.arrayValue?[1]["lineage"]?.arrayValue?.count, 2)
    }

    func testComparisonsBetweenRowsAreDecidedLikeTheClaims() throws {
        var data = self.data
        data.comparisons = [RowComparison(better: "upcycling", worse: "BTX top-2"), RowComparison(better: "dense", worse: "BTM"),
                            RowComparison(better: "soft routing", worse: "BTX top-2")]
        XCTAssertEqual(data.comparisonClaims.map(\.verdict), ["held", "not held", "not tested"])
        XCTAssertEqual(ReportRenderer.comparisonLines(data)[0],
                       "1. **held** — upcycling beats BTX top-2 on average. (average loss 1.750 against 1.850; difference -0.100 [-0.100, -0.100])")
        XCTAssertTrue(ReportRenderer.markdown(data).contains("## Comparisons"))
        XCTAssertFalse(ReportRenderer.markdown(self.data).contains("## Comparisons"), "no section without comparisons")
        XCTAssertEqual(ReportRenderer.json(data)["comparisons"]?.arrayValue?.count, 3)
        XCTAssertEqual(try ReportStage.comparisons(StageParams(["comparisons": [["better": "a", "worse": "b"]]])), [RowComparison(better: "a", worse: "b")])
        XCTAssertThrowsError(try ReportStage().validate(StageParams(["comparisons": [["better": "a"]]]))) {
            XCTAssertTrue("\($0)".contains("comparisons"), "\($0)")
        }
    }

    func testRowsThatScoredOtherSequencesAreNotPaired() {
        var rows = data.rows
        rows[6].heldOut = ["batch_size": 8]  // BTX scored other sequences than BTM and dense
        let claim = ReportData(title: "t", domains: data.domains, rows: rows).btxBeatsBaselines
        XCTAssertEqual(claim.verdict, "not tested", claim.evidence)
    }

    func testAnExpertWithoutAGainLeavesItsDomainOutOfClaim5() {
        var rows = data.rows
        rows[1] = row("expert code", "expert", expertDomain: "code", ["code": 3.1, "math": 3.5], flops: 2e15)
        let claim = ReportData(title: "t", domains: data.domains, rows: rows).btxKeepsExpertGains
        XCTAssertEqual(claim.verdict, "inconclusive", "math is held, code has no gain to keep: " + claim.evidence)
        XCTAssertTrue(claim.evidence.contains("code: the expert's gain over the seed -0.100 [-0.100, -0.100] is not clearly positive"),
                      claim.evidence)
        XCTAssertEqual(Verdict.all([.notTested, .notHeld]), .notHeld)
        XCTAssertEqual(Verdict.all([.notTested, .notTested]), .notTested)
        XCTAssertEqual(Verdict.all([]), .notTested)
    }

    func testMissingRowsOrSequencesLeaveClaimsUntested() {
        let partial = ReportData(title: "t", rows: [data.rows[0]])
        XCTAssertEqual(partial.claims.map(\.verdict), Array(repeating: "not tested", count: 5))
        // Rows from evaluations without per-sequence losses: the loss claims cannot be decided.
        let bare = ReportData(title: "t", domains: data.domains, rows: data.rows.map {
            ReportRow(name: $0.name, role: $0.role, expertDomain: $0.expertDomain, losses: $0.losses, flops: $0.flops,
                      routing: $0.routing, routingExperts: $0.routingExperts)
        })
        XCTAssertEqual(bare.claims.map(\.verdict), ["not tested", "not tested", "not tested", "held", "not tested"])
    }

    func testOverlappingNoiseIsInconclusiveAndAClearGapIsDecided() {
        // Per-sequence losses uniform on ±0.5 (sd ≈ 0.29) over 40 sequences: a mean gap of 0.02 is within noise, 0.6 is not.
        func noisy(_ mean: Double, seed: UInt64) -> [Double] {
            var rng = SplitMix64(seed: seed)
            return (0..<40).map { _ in mean + Double(rng.next() % 1000) / 1000 - 0.5 }
        }
        func rows(upcycling: Double) -> ReportData {
            let btx = ReportRow(name: "BTX", role: "btx", losses: ["a": 2], flops: 1, sequenceLosses: ["a": noisy(2, seed: 1)])
            let up = ReportRow(name: "up", role: "upcycling", losses: ["a": upcycling], flops: 1,
                               sequenceLosses: ["a": noisy(upcycling, seed: 2)])
            return ReportData(title: "t", domains: ["a"], rows: [btx, up])
        }
        XCTAssertEqual(rows(upcycling: 2.02).btxBeatsUpcycling.verdict, "inconclusive")
        XCTAssertEqual(rows(upcycling: 2.6).btxBeatsUpcycling.verdict, "held")
        XCTAssertEqual(rows(upcycling: 1.4).btxBeatsUpcycling.verdict, "not held")
    }

    func testPairedBootstrapIntervalCoversTheMeanDifferenceAndIsDeterministic() {
        let a = (0..<100).map { Double($0 % 10) }, b = a.map { $0 + 1 }
        let interval = PairedBootstrap().interval(sizes: ["d": 100]) { mean in mean(b, "d") - mean(a, "d") }
        // Paired: the per-sequence difference is always 1, so the interval is exactly 1 although each
        // mean alone varies across resamples.
        XCTAssertEqual(interval, Interval(point: 1, low: 1, high: 1))
        let spread = PairedBootstrap().interval(sizes: ["d": 100]) { mean in mean(a, "d") }
        XCTAssertEqual(spread.point, 4.5, accuracy: 1e-12)
        XCTAssertLessThan(spread.low, 4.5)
        XCTAssertGreaterThan(spread.high, 4.5)
        // Standard error of the mean ≈ 2.87/√100: the 95% interval is about ±0.56.
        XCTAssertEqual(spread.high - spread.low, 2 * 1.96 * 0.287, accuracy: 0.15)
        XCTAssertEqual(PairedBootstrap().interval(sizes: ["d": 100]) { mean in mean(a, "d") }, spread)
    }

    func testHTMLIsSelfContainedWithChartsAndClaims() {
        let html = ReportRenderer.html(data)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<h2>Claims of the BTX paper</h2>"))
        XCTAssertTrue(html.contains("<h2>Routing of BTX top-2</h2>"))
        XCTAssertTrue(html.contains("<b class=\"not\">not held</b>"))
        XCTAssertFalse(html.contains("http://") && !html.contains("http://www.w3.org/2000/svg"))
        XCTAssertFalse(html.contains("src="), "no external assets")
    }

    func testMarkdownAndJSONCarryTheSameVerdicts() {
        let md = ReportRenderer.markdown(data)
        XCTAssertTrue(md.contains("## Claims of the BTX paper"))
        XCTAssertTrue(md.contains("| math | 10% | 80% | 10% |"))
        // Mean load (0.4, 0.5, 0.1) over its mean 1/3: 1.5.
        XCTAssertTrue(md.contains("Load balance (busiest expert's load / mean load, per layer): 1.50"), md)
        let json = ReportRenderer.json(data)
        XCTAssertEqual(json["claims"]?.arrayValue?.compactMap { $0["verdict"]?.stringValue }, ["held", "held", "not held", "held", "held"])
    }
}
