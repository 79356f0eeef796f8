import BTXTensor
import Dispatch
import XCTest

final class ParallelTests: XCTestCase {
    func testEveryItemRunsExactlyOnceForAnyThreadCount() {
        for threads in [1, 2, 3] {
            var hits = [Int](repeating: 0, count: 37)
            hits.withUnsafeMutableBufferPointer { h in parallelFor(h.count, threads: threads) { h[$0] += 1 } }
            XCTAssertEqual(hits, [Int](repeating: 1, count: 37), "threads \(threads)")
        }
    }

    func testNestedAndConcurrentCallersDoNotDeadlock() {
        var sums = [Int](repeating: 0, count: 8)
        sums.withUnsafeMutableBufferPointer { s in
            DispatchQueue.concurrentPerform(iterations: 4) { caller in
                parallelFor(2, threads: 2) { outer in
                    var inner = [Int](repeating: 0, count: 10)
                    inner.withUnsafeMutableBufferPointer { b in parallelFor(10, threads: 2) { b[$0] = $0 } }
                    s[caller * 2 + outer] = inner.reduce(0, +)
                }
            }
        }
        XCTAssertEqual(sums, [Int](repeating: 45, count: 8))
    }
}
