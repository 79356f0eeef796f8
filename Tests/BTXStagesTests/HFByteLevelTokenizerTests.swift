import BTXData
@testable import BTXStages
import BTXStore
import Foundation
import XCTest

final class HFByteLevelTokenizerTests: XCTestCase {
    private let text = "the cat sat on the mat; the cat ate 42 rats.\n  Then it slept  "

    private func trained() throws -> BPETokenizer {
        var trainer = BPETrainer()
        trainer.add(Data(String(repeating: text, count: 3).utf8))
        return try trainer.train(vocabSize: 290)
    }

    func testOnASCIITextItEncodesExactlyAsBtxpipesOwnEncoder() throws {
        let tokenizer = try trained()
        let hf = try HFByteLevelTokenizer(json: tokenizer.huggingFaceJSON())
        XCTAssertEqual(hf.encode(text), BPEEncoder(tokenizer).encode(Data(text.utf8)).map { Int32($0) })
        XCTAssertEqual(hf.encode(text).flatMap(hf.bytes(of:)), Array(text.utf8))
    }

    func testAnyIdLayoutAndAddedTokensAreHonoured() throws {
        let tokenizer = try trained()
        guard case .object(var json) = try JSONValue.parse(tokenizer.huggingFaceJSON()),
              case .object(var model)? = json["model"], let vocab = model["vocab"]?.objectValue else { return XCTFail("bad json") }
        let shift = Int64(1000)
        model["vocab"] = .object(vocab.mapValues { .int($0.intValue.map { Int64($0) + shift } ?? 0) })
        json["model"] = .object(model)
        json["added_tokens"] = [["id": 5, "content": "<|end|>", "special": true]]
        let hf = try HFByteLevelTokenizer(json: Data(JSONValue.object(json).canonicalText.utf8))
        let plain = BPEEncoder(tokenizer).encode(Data("the cat".utf8)).map { Int32($0) + Int32(shift) }
        XCTAssertEqual(hf.encode("the cat<|end|>the cat"), plain + [5] + plain)
        XCTAssertEqual(hf.bytes(of: 5), Array("<|end|>".utf8))
    }

    func testANonBPETokenizerIsRefusedByName() {
        XCTAssertThrowsError(try HFByteLevelTokenizer(json: Data(#"{"model": {"type": "Unigram"}}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("tokenizer.json: model: expected a BPE model"), "\($0)")
        }
    }
}
