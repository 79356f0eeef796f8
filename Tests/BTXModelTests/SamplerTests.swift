import BTXModel
import BTXTensor
import XCTest

final class SamplerTests: XCTestCase {
    let logits: [Float] = [0.5, 2.0, -1.0, 1.9, 0.0]

    func draw(_ s: SamplingParameters, seed: UInt64 = 1, count: Int = 200) -> [Int32] {
        var rng = SplitMix64(seed: seed)
        return logits.withUnsafeBufferPointer { l in (0..<count).map { _ in Sampler.sample(l, s, rng: &rng) } }
    }

    func testGreedyTopKOneAndTinyTopPAllPickTheArgmax() {
        XCTAssertEqual(Set(draw(SamplingParameters(temperature: 0))), [1])
        XCTAssertEqual(Set(draw(SamplingParameters(temperature: 1, topK: 1))), [1])
        XCTAssertEqual(Set(draw(SamplingParameters(temperature: 1, topP: 0.01))), [1])
    }

    func testTopKRestrictsCandidatesAndSeedMakesDrawsReproducible() {
        let s = SamplingParameters(temperature: 1, topK: 2)
        XCTAssertEqual(Set(draw(s)), [1, 3])
        XCTAssertEqual(draw(s, seed: 3), draw(s, seed: 3))
        XCTAssertEqual(Set(draw(SamplingParameters(temperature: 5))), [0, 1, 2, 3, 4])
    }

    func testGeneratorIsSeededAndRejectsBadSettings() throws {
        let c = TinyModel.config()
        let gen = try TextGenerator(config: c, parameters: TinyModel.parameters(c, std: 0.5), maxLength: 12)
        let s = SamplingParameters(temperature: 0.8, topK: 5, topP: 0.9, seed: 11)
        let a = try gen.generate(prompt: [1, 2], maxNewTokens: 8, sampling: s)
        XCTAssertEqual(a.count, 10)
        XCTAssertEqual(try gen.generate(prompt: [1, 2], maxNewTokens: 8, sampling: s), a)
        XCTAssertThrowsError(try gen.generate(prompt: [1], maxNewTokens: 20))
        XCTAssertThrowsError(try gen.generate(prompt: [1], maxNewTokens: 2, sampling: SamplingParameters(topP: 0))) {
            XCTAssertTrue("\($0)".contains("top_p"))
        }
    }
}
