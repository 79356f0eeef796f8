import BTXModel
@testable import BTXStages
import BTXStore
import BTXTensor
import Foundation
import TestSupport
import XCTest

/// f16 / q8_0 / q4_0 bit-identical to llama.cpp's reference quantizers (gguf-py `gguf.quants.quantize`).
final class GGMLQuantizeTests: XCTestCase {
    /// Rows of 64 with the hard cases: a zero block, ties for the largest magnitude (±), halves
    /// that round away from zero, tiny and large values, a constant block, then seeded normals.
    private func values() -> [Float] {
        var rng = SplitMix64(seed: 11)
        var v = [Float](repeating: 0, count: 32)                          // an all-zero block
        v += (0..<32).map { i in i == 3 ? 2 : i == 9 ? -2 : Float(i % 5) * 0.25 - 0.5 }   // ± tie on amax
        v += (0..<32).map { Float($0) - 15.5 }                            // x / d hits halves
        v += (0..<32).map { _ in Float(rng.nextNormal()) * 1e-6 }         // subnormal f16 scales
        v += (0..<32).map { _ in Float(rng.nextNormal()) * 3000 }
        v += [Float](repeating: -0.1, count: 32)                          // one value: every q4_0 code is 0
        v += (0..<(64 * 27)).map { _ in Float(rng.nextNormal()) }
        return v
    }

    private func assertBitIdentical(_ type: GGMLType, reference: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try TemporaryDirectory()
        let x = values()
        try x.withUnsafeBytes { try Data($0).write(to: dir.url.appendingPathComponent("in.f32")) }
        _ = try GGUFTestModels.reference("quantize", [reference, dir.path("in.f32"), "64", dir.path("out.bin")])
        var mine = [UInt8](repeating: 0, count: type.byteCount(elements: x.count)!)
        x.withUnsafeBufferPointer { v in mine.withUnsafeMutableBytes { GGMLQuantize.quantize(v, as: type, into: $0) } }
        let theirs = [UInt8](try Data(contentsOf: dir.url.appendingPathComponent("out.bin")))
        XCTAssertEqual(mine.count, theirs.count, file: file, line: line)
        let firstDifference = zip(mine, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        XCTAssertNil(firstDifference, "\(type) differs from gguf.quants at byte \(firstDifference ?? -1)", file: file, line: line)
    }

    func testF16IsBitIdenticalToGGUFPy() throws { try assertBitIdentical(.f16, reference: "F16") }
    func testQ8_0IsBitIdenticalToGGUFPy() throws { try assertBitIdentical(.q8_0, reference: "Q8_0") }
    func testQ4_0IsBitIdenticalToGGUFPy() throws { try assertBitIdentical(.q4_0, reference: "Q4_0") }
}
