@testable import BTXData
import Foundation
import XCTest

final class BPETokenizerTests: XCTestCase {
    static let corpus: [String] = [
        "def hello_world():\n    print('hello world')\n    return 42\n",
        "The quick brown fox jumps over the lazy dog. The dog didn't care; it's lazy.\n\n",
        "Question: What is 12 + 30?\nAnswer: 42\n",
        "naïve café – Grüße, 東京 🙂  \t\r\n  spaced   out   text\n",
    ]

    private func trained(vocabSize: Int = 400) throws -> BPETokenizer {
        var trainer = BPETrainer()
        for _ in 0..<3 { for text in Self.corpus { trainer.add(Data(text.utf8)) } }
        return try trainer.train(vocabSize: vocabSize)
    }

    func testEncodeThenDecodeGivesBackAnyTextWithInvalidUTF8ReadAsReplacementCharacters() throws {
        let tokenizer = try trained()
        let encoder = BPEEncoder(tokenizer)
        var inputs = Self.corpus.map { Data($0.utf8) }
        inputs.append(Data())
        inputs.append(Data([0xFF, 0xFE, 0x00, 0xC3, 0x28, 0xE2, 0x82, 0x20, 0x80, 0x27, 0x73]))  // invalid UTF-8
        inputs.append(Data((0..<2000).map { UInt8(truncatingIfNeeded: CounterHash.hash(1, UInt64($0))) }))
        inputs.append(Data("'s 're'll''  \n\n\n  x  ".utf8))
        for input in inputs {
            let ids = encoder.encode(input)
            let text = Data(String(decoding: input, as: UTF8.self).utf8)  // what Python's errors="replace" gives
            XCTAssertEqual(try tokenizer.decode(ids), text)
            XCTAssertTrue(ids.allSatisfy { Int($0) < tokenizer.vocabSize - 2 })
        }
        XCTAssertEqual(encoder.encode(Data()), [])
    }

    func testTrainingTwiceGivesIdenticalMergesAndBytes() throws {
        let a = try trained(), b = try trained()
        XCTAssertEqual(a.merges, b.merges)
        XCTAssertEqual(a.serialized(), b.serialized())
        XCTAssertEqual(a.huggingFaceJSON(), b.huggingFaceJSON())
    }

    func testDocumentOrderDoesNotChangeTheMerges() throws {
        var forward = BPETrainer(), backward = BPETrainer()
        for text in Self.corpus { forward.add(Data(text.utf8)) }
        for text in Self.corpus.reversed() { backward.add(Data(text.utf8)) }
        XCTAssertEqual(try forward.train(vocabSize: 300).merges, try backward.train(vocabSize: 300).merges)
    }

    func testMergesCompressTheTrainingText() throws {
        let tokenizer = try trained()
        let text = Data(Self.corpus[1].utf8)
        XCTAssertLessThan(BPEEncoder(tokenizer).encode(text).count, text.count / 2)
        XCTAssertEqual(tokenizer.vocabSize, 256 + tokenizer.merges.count + 2)
        XCTAssertEqual(tokenizer.eos, tokenizer.bos + 1)
    }

    func testFirstMergeIsTheMostFrequentPairWithTiesBrokenByPairOrder() throws {
        var trainer = BPETrainer()
        trainer.add(Data("cd\nab\ncd\nab\nxy".utf8))
        let t = try trainer.train(vocabSize: 259)
        // Pairs: (c,d)=2, (a,b)=2, (x,y)=1 → (a,b) wins the tie with (c,d) by pair order.
        XCTAssertEqual(t.merges, [.init(UInt32(UInt8(ascii: "a")), UInt32(UInt8(ascii: "b")))])
    }

    func testMergesStayInsidePreTokenWords() throws {
        var trainer = BPETrainer()
        for _ in 0..<50 { trainer.add(Data("a.b a.b a.b".utf8)) }
        let t = try trainer.train(vocabSize: 300)
        for id in 256..<(256 + t.merges.count) {
            let bytes = t.bytes(of: UInt32(id))
            XCTAssertFalse(bytes.contains(UInt8(ascii: "a")) && bytes.contains(UInt8(ascii: ".")), "\(bytes)")
        }
    }

    func testPreTokenizerSplitsLikeGPT2WithUnicodeClasses() {
        func pieces(_ s: String) -> [String] {
            var out: [String] = []
            let d = Array(s.utf8)
            d.withUnsafeBytes { b in PreTokenizer.split(b) { out.append(String(decoding: d[$0..<$1], as: UTF8.self)) } }
            return out
        }
        XCTAssertEqual(pieces("Hello world's 123 foo!!  bar\n\nx"),
                       ["Hello", " world", "'s", " 123", " foo", "!!", " ", " bar", "\n", "\n", "x"])
        XCTAssertEqual(pieces("  x"), [" ", " x"])
        XCTAssertEqual(pieces("a \n"), ["a", " \n"])
        XCTAssertEqual(pieces("I'll we've"), ["I", "'ll", " we", "'ve"])
        XCTAssertEqual(pieces(""), [])
        // Unicode classes: NBSP and U+3000 are spaces, "—" is punctuation, "²" a number (No), a combining mark not a letter.
        XCTAssertEqual(pieces("café\u{00A0}東京 x—y ²3 e\u{301}"), ["café", "\u{00A0}", "東京", " x", "—", "y", " ²3", " e", "\u{301}"])
        XCTAssertEqual(pieces("a\u{3000}\u{3000}b"), ["a", "\u{3000}", "\u{3000}", "b"])
    }

    func testSerializedFormRoundTripsAndRejectsCorruptBytes() throws {
        let t = try trained()
        XCTAssertEqual(try BPETokenizer(serialized: t.serialized()), t)
        XCTAssertThrowsError(try BPETokenizer(serialized: Data("nonsense".utf8)))
        XCTAssertThrowsError(try BPETokenizer(serialized: t.serialized().dropLast(3)))
        var forward = t.serialized()
        forward[12] = 0xFF  // first merge refers to an id that does not exist yet
        forward[13] = 0xFF
        XCTAssertThrowsError(try BPETokenizer(serialized: forward))
    }

    func testHuggingFaceTokenizerJSONRoundTrips() throws {
        let t = try trained()
        let json = t.huggingFaceJSON()
        XCTAssertEqual(try BPETokenizer(huggingFaceJSON: json), t)
        let parsed = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        let model = parsed?["model"] as? [String: Any]
        XCTAssertEqual(model?["type"] as? String, "BPE")
        XCTAssertEqual((model?["vocab"] as? [String: Any])?["Ġ"] as? Int, 32)
        XCTAssertEqual((parsed?["added_tokens"] as? [[String: Any]])?.count, 2)
        XCTAssertThrowsError(try BPETokenizer(huggingFaceJSON: Data("{\"model\":{\"type\":\"WordPiece\"}}".utf8)))
    }

    /// Golden test against Hugging Face `tokenizers` (ids made by Fixtures/hf_tokenizer_golden.py
    /// from the tokenizer.json this test writes): the exported file loads there and encodes alike.
    func testHuggingFaceTokenizersLibraryEncodesLikeUs() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        var trainer = BPETrainer()
        trainer.add(try Data(contentsOf: fixtures.appendingPathComponent("bpe_train.txt")))
        let tokenizer = try trainer.train(vocabSize: 600)
        let jsonURL = fixtures.appendingPathComponent("bpe_tokenizer.json")
        guard FileManager.default.fileExists(atPath: jsonURL.path) else {
            try tokenizer.huggingFaceJSON().write(to: jsonURL)
            throw XCTSkip("wrote \(jsonURL.path); now run hf_tokenizer_golden.py beside it")
        }
        XCTAssertEqual(tokenizer.huggingFaceJSON(), try Data(contentsOf: jsonURL), "training changed: regenerate the golden files")
        let golden = try String(contentsOf: fixtures.appendingPathComponent("bpe_sample_ids.txt"), encoding: .utf8)
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).map { UInt32($0)! }
        let sample = try Data(contentsOf: fixtures.appendingPathComponent("bpe_sample.txt"))
        XCTAssertEqual(BPEEncoder(tokenizer).encode(sample), golden)
    }
}
