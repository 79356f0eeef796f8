@testable import BTXStages
import XCTest

final class ReportRendererTests: XCTestCase {
    /// A fixed, fake results set in which every claim holds except (3).
    private let data = ReportData(title: "BTX test", domains: ["code", "math"], rows: [
        ReportRow(name: "seed", role: "seed", losses: ["code": 3.0, "math": 3.0], flops: 1e15),
        ReportRow(name: "expert code", role: "expert", expertDomain: "code", losses: ["code": 2.0, "math": 3.5], flops: 2e15),
        ReportRow(name: "expert math", role: "expert", expertDomain: "math", losses: ["code": 3.5, "math": 1.5],
                  mathAccuracy: 0.25, flops: 2e15),
        ReportRow(name: "dense", role: "dense", losses: ["code": 2.6, "math": 2.2], flops: 4e15),
        ReportRow(name: "BTM", role: "btm", losses: ["code": 2.2, "math": 1.8], flops: 3e15),
        ReportRow(name: "upcycling", role: "upcycling", losses: ["code": 2.0, "math": 1.5], flops: 4e15),
        ReportRow(name: "BTX top-2", role: "btx", losses: ["code": 2.1, "math": 1.6], mathAccuracy: 0.3, flops: 4e15,
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

    func testClaimLinesGiveVerdictsWithTheirNumbers() {
        let lines = ReportRenderer.claimLines(data)
        XCTAssertEqual(lines[0], "1. **held** — Each expert beats the seed on its own domain and is worse than the other experts on theirs. (own-domain loss expert code: 2.000 vs seed 3.000; expert math: 1.500 vs seed 3.000)")
        XCTAssertEqual(lines[1], "2. **held** — BTX beats BTM and the compute-matched dense model on average. (average loss BTX 1.850, BTM 2.000, dense 2.400)")
        XCTAssertEqual(lines[2], "3. **not held** — At matched compute BTX is at least as good as sparse upcycling on average. (average loss BTX 1.850 (4.00 PFLOP), upcycling 1.750 (4.00 PFLOP))")
        XCTAssertEqual(lines[3], "4. **held** — Tokens of each domain are routed mostly to that domain's expert. (code→code 70%, math→math 80%)")
    }

    func testMissingRowsLeaveClaimsUntested() {
        let partial = ReportData(title: "t", rows: [data.rows[0]])
        XCTAssertEqual(partial.claims.map(\.verdict), ["not tested", "not tested", "not tested", "not tested"])
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
        XCTAssertEqual(json["claims"]?.arrayValue?.compactMap { $0["verdict"]?.stringValue }, ["held", "held", "not held", "held"])
    }
}
