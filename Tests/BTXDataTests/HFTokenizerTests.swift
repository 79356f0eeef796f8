@testable import BTXData
import BTXStore
import Foundation
import XCTest

/// Loading, refusing and encoding Hugging Face `tokenizer.json` files (the reference comparison with
/// the `tokenizers` package is `HFTokenizerReferenceTests`).
final class HFTokenizerTests: XCTestCase {
    /// A tiny SentencePiece-style file: pieces ▁ a b ▁a ab, byte tokens for "é"'s bytes only.
    static let sentencePiece: JSONValue = [
        "added_tokens": [["id": 0, "content": "<unk>", "special": true, "normalized": false],
                         ["id": 1, "content": "</s>", "special": true, "normalized": false]],
        "normalizer": nil,
        "pre_tokenizer": ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": false],
        "decoder": ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": false],
        "model": ["type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
                  "vocab": ["<unk>": 0, "</s>": 1, "<0xC3>": 2, "<0xA9>": 3, "\u{2581}": 4, "a": 5, "b": 6, "\u{2581}a": 7, "ab": 8],
                  "merges": ["\u{2581} a", "a b"]],
    ]

    private func tokenizer(_ json: JSONValue) throws -> HFTokenizer { try HFTokenizer(json: json.canonicalData) }

    private func modified(_ path: [String], _ value: JSONValue, in base: JSONValue = sentencePiece) -> JSONValue {
        guard case .object(var object) = base, let key = path.first else { return value }
        object[key] = path.count == 1 ? value : modified(Array(path.dropFirst()), value, in: object[key] ?? [:])
        return .object(object)
    }

    func testSentencePieceStyleUsesByteFallbackFusesUnknownsAndMatchesSpecialTokens() throws {
        let t = try tokenizer(Self.sentencePiece)
        let e = t.makeEncoder()
        XCTAssertEqual(e.encode("ab a"), [7, 6, 7])            // "▁ab▁a": "▁ a" ranks before "a b", so ▁a b ▁a
        XCTAssertEqual(e.encode("é"), [4, 2, 3])
        XCTAssertEqual(e.encode("xyz</s>a"), [4, 0, 1, 5])     // x y z fused into one <unk>; no ▁ after </s> (prepend_scheme first)
        XCTAssertEqual(t.eos, 1)
        XCTAssertEqual(t.vocabSize, 9)
        XCTAssertEqual(String(decoding: t.decode([7, 6, 7, 2, 3]), as: UTF8.self), "ab aé")
    }

    func testUnsupportedKindsAndOptionsAreRefusedNamingTheField() {
        let cases: [(JSONValue, String)] = [
            (modified(["model", "type"], "WordPiece"), "model.type"),
            (modified(["model", "dropout"], 0.1), "model.dropout"),
            (modified(["model", "continuing_subword_prefix"], "##"), "model.continuing_subword_prefix"),
            (modified(["pre_tokenizer"], ["type": "Whitespace"]), "pre_tokenizer.type"),
            (modified(["pre_tokenizer"], ["type": "Split", "pattern": ["Regex": "\\w+"], "behavior": "Isolated", "invert": false]), "pre_tokenizer.pattern"),
            (modified(["pre_tokenizer"], ["type": "ByteLevel", "add_prefix_space": true]), "pre_tokenizer.add_prefix_space"),
            (modified(["pre_tokenizer"], ["type": "Sequence", "pretokenizers": [["type": "Punctuation"]]]), "pre_tokenizer.pretokenizers[0].type"),
            (modified(["normalizer"], ["type": "Lowercase"]), "normalizer.type"),
            (modified(["decoder"], ["type": "WordPiece"]), "decoder.type"),
            (modified(["truncation"], ["max_length": 512]), "truncation"),
            (modified(["added_tokens"], [["id": 0, "content": "<unk>", "lstrip": true]]), "added_tokens[0].lstrip"),
        ]
        for (json, field) in cases {
            XCTAssertThrowsError(try tokenizer(json), field) { error in
                guard case let .unsupported(f, _) = error as? TokenizerError else { return XCTFail("\(error)") }
                XCTAssertEqual(f, field)
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }

    func testCorruptFilesAreRefusedNamingTheField() {
        let cases: [(Data, String)] = [
            (Data("{not json".utf8), "(top level)"),
            (Data("[1, 2]".utf8), "(top level)"),
            (modified(["model"], nil).canonicalData, "model"),
            (modified(["model", "vocab"], [1, 2]).canonicalData, "model.vocab"),
            (modified(["model", "vocab", "a"], -3).canonicalData, "model.vocab[a]"),
            (modified(["model", "merges"], ["\u{2581} zz"]).canonicalData, "model.merges[0]"),
            (modified(["model", "unk_token"], "<nope>").canonicalData, "model.unk_token"),
            (modified(["added_tokens"], [["id": "x"]]).canonicalData, "added_tokens[0]"),
        ]
        for (data, field) in cases {
            XCTAssertThrowsError(try HFTokenizer(json: data), field) { error in
                guard case let .badTokenizerJSON(f, _) = error as? TokenizerError else { return XCTFail("\(field): \(error)") }
                XCTAssertEqual(f, field)
            }
        }
    }

    func testBtxpipesOwnFileTakesTheFastPathAndTheGenericPathAgrees() throws {
        var trainer = BPETrainer()
        for text in BPETokenizerTests.corpus { trainer.add(Data(text.utf8)) }
        let bpe = try trainer.train(vocabSize: 320)
        let t = try HFTokenizer(json: bpe.huggingFaceJSON())
        XCTAssertEqual(t.btxpipe, bpe)
        XCTAssertEqual(t.bos, bpe.bos)
        XCTAssertEqual(t.eos, bpe.eos)
        XCTAssertEqual(t.vocabSize, bpe.vocabSize)
        XCTAssertTrue(t.makeEncoder() is BPEEncoder)
        for text in BPETokenizerTests.corpus + ["<|eos|>x"] {
            let fast = t.makeEncoder().encode(text), generic = t.makeEncoder(generic: true).encode(text)
            XCTAssertEqual(fast, generic, text)
            XCTAssertEqual(String(decoding: t.decode(generic), as: UTF8.self), text.replacingOccurrences(of: "<|eos|>", with: ""))
        }
    }

    func testUTF8ValidationAgreesWithSwiftsDecoder() {
        var counter: UInt64 = 0
        func next() -> UInt64 { counter += 1; return CounterHash.hash(7, counter) }
        var samples: [[UInt8]] = [[0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xE0, 0x80, 0xAF], Array("東京 🙂".utf8)]
        for _ in 0..<3000 { samples.append((0..<Int(next() % 6 + 1)).map { _ in UInt8(truncatingIfNeeded: next()) | (next() % 3 == 0 ? 0 : 0x80) }) }
        for s in samples {
            let swift = String(validating: s, as: UTF8.self) != nil
            XCTAssertEqual(s.withUnsafeBytes { ScalarText.isValidUTF8($0) }, swift, "\(s)")
        }
    }

    func testByteLevelTokensReadByScalarSpellTheirBytesAndRefuseOtherCharacters() {
        let table = BPETokenizer.byteToUnicode
        for b in 0..<256 { XCTAssertEqual(BPEModel.byteLevelBytes(String(table[b])), [UInt8(b)], "byte \(b)") }
        XCTAssertEqual(BPEModel.byteLevelBytes("ĠParis"), [0x20] + Array("Paris".utf8))
        XCTAssertEqual(BPEModel.byteLevelBytes("ĠParis".dropFirst()), Array("Paris".utf8))   // a substring, as merges pass them
        for outside in ["e\u{301}", "中", " ", "\u{144}", "a\u{10FFFF}"] { XCTAssertNil(BPEModel.byteLevelBytes(outside), outside) }
    }

    func testHeapMergeEqualsTheSimpleLoopOnLongWords() throws {
        var trainer = BPETrainer()
        for text in BPETokenizerTests.corpus { trainer.add(Data(text.replacingOccurrences(of: " ", with: "").utf8)) }
        let bpe = try trainer.train(vocabSize: 400)
        let word = Array(BPETokenizerTests.corpus.joined().replacingOccurrences(of: " ", with: "").utf8)
        for length in [2, 47, 48, 49, 200, word.count] {
            var heap = word.prefix(length).map(UInt32.init)
            bpe.mergeTable.apply(&heap)             // > 48 symbols: the heap
            var loop = word.prefix(length).map(UInt32.init)
            while true {
                var changed = false
                for i in 0..<max(loop.count - 1, 0) {
                    if let r = bpe.mergeTable.lookup(loop[i], loop[i + 1]),
                       !(0..<(loop.count - 1)).contains(where: { j in bpe.mergeTable.lookup(loop[j], loop[j + 1]).map { $0 < r } ?? false }) {
                        loop[i] = UInt32(truncatingIfNeeded: r)
                        loop.remove(at: i + 1)
                        changed = true
                        break
                    }
                }
                if !changed { break }
            }
            XCTAssertEqual(heap, loop, "length \(length)")
        }
    }
}

