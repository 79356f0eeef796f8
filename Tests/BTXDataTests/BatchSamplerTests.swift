import BTXData
import Foundation
import XCTest

final class BatchSamplerTests: XCTestCase {
    private let domains: [[UInt32]] = [Array(0..<1000), Array(10_000..<10_500), Array(20_000..<20_300)]

    private func sampler(seed: UInt64 = 7, weights: [Double] = [0.5, 0.3, 0.2]) throws -> BatchSampler {
        try BatchSampler(domains: domains, weights: weights, seed: seed, batchSize: 4, sequenceLength: 16)
    }

    func testBatchOfAStepIsTheSameAloneOrAfterOtherSteps() throws {
        let s = try sampler()
        let alone = try sampler().batch(step: 123)
        var after: [Int32] = []
        for step in 0...123 { after = s.batch(step: step) }
        XCTAssertEqual(alone, after)
        XCTAssertNotEqual(s.batch(step: 1), s.batch(step: 2))
        XCTAssertNotEqual(try sampler(seed: 8).batch(step: 1), s.batch(step: 1))
    }

    func testRowsAreContiguousWindowsWithTargetsShiftedByOne() throws {
        let s = try sampler()
        let batch = s.batch(step: 5)
        XCTAssertEqual(batch.count, 4 * 17)
        for row in 0..<4 {
            let r = Array(batch[(row * 17)..<((row + 1) * 17)])
            for t in 1..<17 { XCTAssertEqual(r[t], r[t - 1] + 1) }  // the test domains count upwards
        }
    }

    func testDomainsAreDrawnInProportionToTheirWeights() throws {
        let s = try sampler(weights: [0.6, 0.4, 0])
        var counts = [0, 0, 0]
        for step in 0..<500 { for row in 0..<4 { counts[s.window(step: step, row: row).domain] += 1 } }
        XCTAssertEqual(counts[2], 0)
        XCTAssertEqual(Double(counts[0]) / 2000, 0.6, accuracy: 0.04)
    }

    func testBadWeightsAndShortDomainsAreRejected() {
        XCTAssertThrowsError(try sampler(weights: [1, -1, 1]))
        XCTAssertThrowsError(try sampler(weights: [1, 1]))
        XCTAssertThrowsError(try sampler(weights: [0, 0, 0]))
        XCTAssertThrowsError(try BatchSampler(domains: [[1, 2, 3]], weights: [1], seed: 0, batchSize: 1, sequenceLength: 8)) {
            XCTAssertTrue("\($0)".contains("3 tokens"))
        }
    }

    func testValidationBatchesAreAFixedSequenceCoveringEveryWindow() throws {
        let v = try ValidationBatches(tokens: Array(0..<100), batchSize: 2, sequenceLength: 10)
        XCTAssertEqual(v.windowCount, 9)
        XCTAssertEqual(v.count, 5)
        XCTAssertEqual(Array(v.batch(0)[0..<11]), (0...10).map(Int32.init))
        XCTAssertEqual(Array(v.batch(0)[11..<22]), (10...20).map(Int32.init))
        XCTAssertEqual(Array(v.batch(4)[11..<22]), (0...10).map(Int32.init))  // wraps
        XCTAssertEqual(v.batch(3), v.batch(3))
    }
}
