import Foundation
import XCTest
@testable import BTXStore

/// Items are consumed exactly once, in order, after being produced, never more than a window ahead;
/// the first error stops everything.
final class OrderedPipelineTests: XCTestCase {
    /// What a pipeline run did, recorded thread-safely.
    private final class Trace: @unchecked Sendable {
        let lock = NSLock()
        var produced = Set<Int>()
        var consumed: [Int] = []
        var claimedAhead = 0            // most items claimed beyond the consumed ones
        var consumedBeforeProduced = false
        var workersSeen = Set<Int>()
    }

    @discardableResult
    private func run(count: Int, workers: Int, window: Int, failAt: Int? = nil, trace: Trace = Trace()) throws -> Trace {
        try OrderedPipeline.run(count: count, workers: workers, window: window, claim: { item in
            trace.lock.withLock { trace.claimedAhead = max(trace.claimedAhead, item + 1 - trace.consumed.count) }
        }, produce: { item, worker in
            if item % 3 == 0 { usleep(200) }   // uneven work, so items finish out of order
            if item == failAt { throw StoreError.corrupt(path: "p", reason: "item \(item)") }
            trace.lock.withLock { trace.produced.insert(item); trace.workersSeen.insert(worker) }
        }, consume: { item in
            trace.lock.withLock {
                if !trace.produced.contains(item) { trace.consumedBeforeProduced = true }
                trace.consumed.append(item)
            }
        })
        return trace
    }

    func testEveryItemIsConsumedOnceInOrderAfterItIsProduced() throws {
        for (workers, window) in [(1, 1), (1, 4), (2, 1), (2, 3), (4, 8), (3, 64)] {
            let trace = try run(count: 50, workers: workers, window: window)
            XCTAssertEqual(trace.consumed, Array(0..<50), "workers \(workers) window \(window)")
            XCTAssertFalse(trace.consumedBeforeProduced)
            XCTAssertLessThanOrEqual(trace.claimedAhead, window, "claimed more than a window ahead")
            XCTAssertTrue(trace.workersSeen.isSubset(of: Set(0..<workers)))
        }
    }

    func testNothingRunsForZeroItems() throws {
        XCTAssertEqual(try run(count: 0, workers: 2, window: 2).consumed, [])
    }

    func testFirstErrorStopsThePipelineAndIsRethrown() {
        for workers in [1, 2, 3] {
            let trace = Trace()
            XCTAssertThrowsError(try run(count: 40, workers: workers, window: 4, failAt: 9, trace: trace)) { error in
                XCTAssertEqual(error as? StoreError, .corrupt(path: "p", reason: "item 9"))
            }
            XCTAssertFalse(trace.consumed.contains(9), "the failed item is never consumed")
            XCTAssertLessThan(trace.produced.max() ?? 0, 9 + 4, "no work starts a window past the failure")
        }
        let trace = Trace()
        XCTAssertThrowsError(try OrderedPipeline.run(count: 40, workers: 2, window: 4, claim: { _ in }, produce: { _, _ in }, consume: { item in
            trace.lock.withLock { trace.consumed.append(item) }
            if item == 5 { throw StoreError.corrupt(path: "p", reason: "sink") }
        }))
        XCTAssertEqual(trace.consumed, Array(0...5), "nothing is consumed after a failed consume")
    }
}
