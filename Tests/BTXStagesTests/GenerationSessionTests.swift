import BTXModel
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

final class GenerationSessionTests: XCTestCase {
    func testGreedyCachedGenerationOfAnMoEPicksTheArgmaxOfFullForwardPasses() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let manifest = try HFImporter.importModel(HFFixtures.directory("mixtral"), into: store)
        let session = try GenerationSession(manifest, store: store)
        var streamed: [Int32] = []
        let generated = try session.generate(prompt: [5, 17, 3], maxNewTokens: 6, temperature: 0, topK: 0, topP: 1, seed: 0) {
            streamed.append($0)
        }
        XCTAssertEqual(streamed, generated)
        XCTAssertEqual(generated.count, 6)
        var tokens: [Int32] = [5, 17, 3]
        let V = session.weights.architecture.llama.vocabSize
        for next in generated {
            let logits = try session.weights.logits([tokens])
            let last = Array(logits[(logits.count - V)...])
            XCTAssertEqual(Int32(last.indices.max { last[$0] < last[$1] }!), next)
            tokens.append(next)
        }
    }

    func testAPromptThatFillsTheContextIsRefused() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let session = try GenerationSession(try HFImporter.importModel(HFFixtures.directory("llama-tied"), into: store), store: store)
        XCTAssertThrowsError(try session.generate(prompt: [Int32](repeating: 1, count: 64), maxNewTokens: 1, temperature: 0,
                                                  topK: 0, topP: 1, seed: 0) { _ in }) {
            XCTAssertTrue("\($0)".contains("leaves no room in max_position_embeddings 64"), "\($0)")
        }
    }
}
