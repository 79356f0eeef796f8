@testable import BTXStore
import XCTest

/// `TransferProgress`: objects and bytes against known totals, the rate and an ETA.
final class TransferProgressTests: XCTestCase {
    func testSnapshotShowsProgressAgainstTheTotalsWithRateAndETA() {
        let mib: Int64 = 1 << 20
        var snapshot = TransferProgress.Snapshot(direction: "push", objects: 2, bytes: mib, seconds: 1)
        XCTAssertEqual(snapshot.description, "push: 2 object(s), 1.0 MiB in 1.00 s (1.0 MiB/s)", "no totals: the old summary")
        snapshot.checked = 3
        snapshot.totalObjects = 5
        snapshot.totalBytes = 4 * mib
        XCTAssertEqual(snapshot.eta, 3)
        XCTAssertEqual(snapshot.description, "push: 3/5 objects, 1.0/4.0 MiB, 1.0 MiB/s, eta 3s")
        snapshot.totalBytes = nil
        XCTAssertEqual(snapshot.eta ?? 0, 1 / 3 * 2, accuracy: 1e-9, "by objects when bytes are unknown")
    }

    func testCountersAddUpAcrossSkippedAndMovedObjects() {
        var reports: [TransferProgress.Snapshot] = []
        let progress = TransferProgress(direction: "pull", interval: 0) { reports.append($0) }
        progress.expect(objects: 3, bytes: nil)
        progress.skip()
        progress.add(bytes: 10)
        progress.add(bytes: 20)
        let done = progress.finish()
        XCTAssertEqual([done.checked, done.objects, Int(done.bytes), done.totalObjects], [3, 2, 30, 3])
        XCTAssertEqual(reports.count, 3, "one report per moved object, and the final one")
    }
}
