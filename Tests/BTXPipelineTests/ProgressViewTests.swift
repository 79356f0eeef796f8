@testable import BTXPipeline
import BTXStore
import XCTest

final class ProgressViewTests: XCTestCase {
    private final class Output: @unchecked Sendable {
        var text = ""
        var now = 100.0
    }

    private func view(terminal: Bool, color: Bool = false, output: Output) -> ProgressView {
        ProgressView(isTerminal: terminal, color: color, plainInterval: 5, clock: { output.now }) { output.text += $0 }
    }

    func testPlainLinesAreTimestampedAndRateLimited() {
        let output = Output()
        let view = view(terminal: false, output: output)
        view.stageStarted("train[code]", key: .of("k"))
        for step in 1...100 {
            output.now += 0.01
            view.progress(stage: "train[code]", step: step, total: 100, fields: ["loss": 2.5])
        }
        view.stageEnded(StageResult(stage: "train[code]", key: nil, outcome: .ran(output: .of("o"), seconds: 1)))
        let lines = output.text.split(separator: "\n")
        XCTAssertEqual(lines.first, "[00:01:40] run train[code] (key \(ObjectHash.of("k").short))")
        XCTAssertEqual(lines.count, 1 + 10 + 1, output.text)   // start, step 1 then every 10%, done
        XCTAssertTrue(lines[1].hasPrefix("[00:01:40] train[code] 1/100 loss 2.5000 eta "), String(lines[1]))
        XCTAssertEqual(lines.last, "[00:01:41] done train[code] in 1.0s")
        XCTAssertFalse(output.text.contains("\u{1B}"))
    }

    func testTerminalRedrawsOneLinePerRunningStageInPlace() {
        let output = Output()
        let view = view(terminal: true, color: true, output: output)
        view.stageStarted("a", key: .of("k"))
        output.now += 1
        view.progress(stage: "a", step: 1, total: 4, fields: ["tokens_per_s": 1000])
        XCTAssertTrue(output.text.hasSuffix("\u{1B}[1A\u{1B}[Ja [######------------------] 1/4 tok/s 1000 eta 3.0s\n"),
                      output.text.debugDescription)
        XCTAssertTrue(output.text.hasPrefix("\u{1B}[36mrun\u{1B}[0m a"))
    }

    /// A stage resumed at step 101 of 200 that runs a step a second: the ETA counts only the steps run
    /// here (it used to divide by all 110 and promise 9 s for 90 s of work).
    func testTheETAOfAResumedStageCountsOnlyTheStepsRunHere() {
        let output = Output()
        let view = view(terminal: true, output: output)
        view.stageStarted("a", key: .of("k"))
        for step in 101...110 {
            output.now += 1
            view.progress(stage: "a", step: step, total: 200, fields: [:])
        }
        XCTAssertTrue(output.text.hasSuffix("110/200 eta 1m30s\n"), output.text.debugDescription)
    }

    func testDurationsReadNaturally() {
        XCTAssertEqual(ProgressView.duration(1.25), "1.2s")
        XCTAssertEqual(ProgressView.duration(185), "3m05s")
        XCTAssertEqual(ProgressView.duration(7260), "2h01m")
    }

    func testLiveLinesAreCutToTheTerminalWidthSoTheRedrawNeverWraps() {
        let output = Output()
        let view = ProgressView(isTerminal: true, color: false, plainInterval: 5, clock: { output.now }, width: { 30 }) {
            output.text += $0
        }
        view.stageStarted("train[a-very-long-domain-name]", key: .of("k"))
        output.now += 1
        view.progress(stage: "train[a-very-long-domain-name]", step: 1, total: 4, fields: ["loss": 2.5, "tokens_per_s": 1000])
        let live = output.text.components(separatedBy: "\u{1B}[J").last ?? ""
        XCTAssertEqual(live, "train[a-very-long-domain-name\n", output.text.debugDescription)
    }

    func testDumbTerminalsAndPipesGetPlainLines() {
        XCTAssertFalse(TerminalInfo.isLiveTerminal(0, environment: ["TERM": "dumb"]))
        XCTAssertEqual(TerminalInfo.columns(-1, environment: ["COLUMNS": "77"]), 77)
        XCTAssertNil(TerminalInfo.columns(-1, environment: [:]))
    }
}
