import BTXPipeline
@testable import BTXStore
import XCTest

/// `TransferLine`: a live line redrawn within the terminal's width, plain lines off a terminal, and
/// nothing when quiet.
final class TransferLineTests: XCTestCase {
    private func snapshot(seconds: Double) -> TransferProgress.Snapshot {
        var snapshot = TransferProgress.Snapshot(direction: "import", objects: 3, bytes: 3 << 20, seconds: seconds)
        snapshot.checked = 3
        snapshot.totalObjects = 12
        snapshot.totalBytes = 12 << 20
        return snapshot
    }

    func testOffATerminalItWritesPlainLinesOnlyOnceAnIntervalHasPassed() {
        var written: [String] = []
        let line = TransferLine(live: false, quiet: false, plainInterval: 5) { written.append($0) }
        line.show(snapshot(seconds: 1))
        XCTAssertEqual(written, [], "a transfer quicker than the interval adds nothing to a log")
        line.show(snapshot(seconds: 6))
        line.end()
        XCTAssertEqual(written, ["import: 3/12 objects, 3.0/12.0 MiB, 0.5 MiB/s, eta 18s\n"], "no escape codes, one line each")
    }

    func testOnATerminalItRedrawsOneLineCutToTheWidth() {
        var written: [String] = []
        let line = TransferLine(live: true, quiet: false, plainInterval: 5, columns: { 20 }) { written.append($0) }
        line.show(snapshot(seconds: 1))
        line.end()
        XCTAssertEqual(written, ["\r\u{1B}[Kimport: 3/12 object", "\r\u{1B}[K"], "19 columns: the cursor never wraps")
    }

    func testQuietWritesNothing() {
        var written: [String] = []
        let line = TransferLine(live: true, quiet: true, plainInterval: 5) { written.append($0) }
        line.show(snapshot(seconds: 60))
        line.end()
        XCTAssertEqual(written, [])
    }
}
