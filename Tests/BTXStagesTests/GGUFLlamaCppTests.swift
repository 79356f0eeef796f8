import BTXData
import BTXModel
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// llama.cpp itself (llama-cpp-python, built by `make llama-cpp`) runs btxpipe's GGUF exports: it
/// tokenizes the prompt as btxpipe does (the "gpt2" pre-tokenizer) and continues it greedily token
/// for token like `btxpipe generate --temperature 0`.
final class GGUFLlamaCppTests: XCTestCase {
    private let prompt = "The quick brown fox routes each token to the experts"
    private let newTokens = 24

    private func assertLlamaCppAgrees(_ model: Manifest, store: Store, in dir: TemporaryDirectory, _ label: String) throws {
        let url = dir.url.appendingPathComponent("\(label).gguf")
        try GGUFExporter(fileType: .f32).export(model, from: store, to: url)
        let session = try GenerationSession(model, store: store, threads: 2)
        let ids = try session.encode(prompt)
        let mine = try session.generate(prompt: ids, maxNewTokens: newTokens, temperature: 0, topK: 0, topP: 1, seed: 0) { _ in }
        let logitsFile = dir.url.appendingPathComponent("\(label).logits.f32")
        let out = try GGUFTestModels.reference("greedy", [url.path, prompt, "\(newTokens)", logitsFile.path], modules: ["llama_cpp", "numpy"])
        let theirLogits = try Data(contentsOf: logitsFile).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let myLogits = try ModelWeights(model, store: store).logits([ids])
        let V = myLogits.count / ids.count
        let perPosition = (0..<ids.count).map { t in HFFixtures.maxError(Array(myLogits[t * V..<(t + 1) * V]), Array(theirLogits[t * V..<(t + 1) * V])) }
        // NOTE: llama.cpp keeps K/V in f16; in an MoE that can flip a near-tie in the top-2 choice at a
        // position, whose logits then differ by a lot (seen: one position of 26, |Δ| 3.1, the rest ≤ 0.02).
        print("positions with |Δ| > 0.1: \(perPosition.indices.filter { perPosition[$0] > 0.1 })")
        print("llama.cpp vs btxpipe prompt logits (\(label)): max |Δ| \(HFFixtures.maxError(myLogits, theirLogits)), max |logit| \(myLogits.map(abs).max() ?? 0)")
        let json = try JSONValue.parse(Data(out.utf8))
        let theirPrompt = json["prompt"]?.arrayValue?.compactMap(\.intValue) ?? []
        let theirs = Array((json["continuation"]?.arrayValue?.compactMap(\.intValue) ?? []).prefix(mine.count))
        XCTAssertEqual(theirPrompt, ids.map(Int.init), "\(label): llama.cpp tokenizes the prompt differently")
        XCTAssertEqual(theirs, mine.map(Int.init), "\(label): llama.cpp's greedy continuation differs")
        XCTAssertGreaterThan(Set(mine).count, 3, "\(label): a degenerate continuation proves little")
        print("llama.cpp agrees on \(label): prompt \(ids.count) tokens, \(mine.count) greedy tokens \(mine.prefix(8))…")
    }

    func testLlamaCppContinuesADenseExportGreedilyAsBtxpipeGenerateDoes() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let dense = try GGUFTestModels.dense(store, tokenizer: try GGUFTestModels.tokenizer())
        try assertLlamaCppAgrees(dense, store: store, in: dir, "dense")
    }

    func testLlamaCppContinuesABTXMoEExportGreedilyAsBtxpipeGenerateDoes() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let dense = try GGUFTestModels.dense(store, tokenizer: try GGUFTestModels.tokenizer())
        try assertLlamaCppAgrees(try GGUFTestModels.moe(store, dense: dense), store: store, in: dir, "moe")
    }
}
