@testable import BTXData
import Foundation
import TestSupport
import XCTest

/// `HFTokenizer` token for token against the `tokenizers` Python package on the three default
/// corpora (a few hundred KB each: Python stdlib code, FOLDOC, generated math) plus non-ASCII and
/// invalid UTF-8. The reference tokenizers are trained offline at test time by
/// `Tests/Fixtures/tokenizers/make_tokenizers.py` (Llama 3, Qwen2, SmolLM2, GPT-2 byte-level
/// layouts; Llama 2 SentencePiece-style, legacy and Metaspace), plus btxpipe's own tokenizer.json.
final class HFTokenizerReferenceTests: XCTestCase {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tokenizers/make_tokenizers.py")

    /// Text every tokenizer must handle: accents, CJK, emoji, NBSP, dashes, superscripts, contractions,
    /// line ends, special tokens in the text, and invalid UTF-8.
    static let edgeCases: [Data] = [
        "naïve café – Grüße, 東京 🙂  \t\r\n  spaced   out   text\n",
        "x² + y² = z²; 3.14159 and ½ — \u{00A0}NBSP\u{00A0}\u{00A0}here\u{3000}全角 ١٢٣ 12345678",
        "I'LL we'Ve 'S 's don't ſ'ſ \r\n\r\n\n  \n\t\n x",
        "e\u{301}t\u{e9} Å Å 한국어 Ελληνικά русский <|endoftext|>after</s>y<s> <|im_start|>user\n",
        "   ", "", "\n", "'", "🙂🙂🙂", "a\u{200B}b",
    ].map { Data($0.utf8) } + [Data([0x61, 0xFF, 0xFE, 0x62, 0xC3, 0x28, 0xE2, 0x82, 0x20, 0xF0, 0x9F, 0x99, 0x80, 0x27, 0x73]),
                                Data([0xE6, 0x9D, 0xB1, 0xE4, 0xBA])]

    /// The three default corpora, sampled, then the edge cases.
    static func documents() throws -> [Data] {
        let code = try LocalSource(path: "/usr/lib/python3.11", include: ["*.py"]).documents(format: .text).sample(maxBytes: 250_000)
        let knowledge = try LocalSource(path: "/usr/share/dictd", include: ["foldoc.dict.dz"]).documents(format: .dictd)
            .sample(maxBytes: 250_000)
        let math = MathCorpus(seed: 1, maxBytes: 150_000, heldOutCount: 0).documents
        return [code, knowledge, math].flatMap { c in (0..<c.count).map { c[$0] } } + edgeCases
    }

    static func write(_ documents: [Data], to url: URL) throws {
        var out = Data()
        for d in documents {
            withUnsafeBytes(of: UInt32(d.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(d)
        }
        try out.write(to: url)
    }

    static func readIds(_ url: URL, count: Int) throws -> [[UInt32]] {
        let data = [UInt8](try Data(contentsOf: url))
        func u32(_ at: Int) -> UInt32 { UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24 }
        var out: [[UInt32]] = [], at = 0
        while at < data.count {
            let n = Int(u32(at))
            out.append((0..<n).map { u32(at + 4 + 4 * $0) })
            at += 4 + 4 * n
        }
        XCTAssertEqual(out.count, count)
        return out
    }

    /// Encodes `documents` with the tokenizer in `json` here and in `tokenizers`; fails on the first
    /// document that differs, showing where.
    func assertSameIds(_ json: URL, _ documents: [Data], docs: URL, python: URL, generic: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let out = json.deletingPathExtension().appendingPathExtension("ids")
        let result = try runProcess(python, [Self.script.path, "encode", json.path, docs.path, out.path])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let reference = try Self.readIds(out, count: documents.count)
        let tokenizer = try HFTokenizer(json: try Data(contentsOf: json))
        let encoder = tokenizer.makeEncoder(generic: generic)
        var tokens = 0
        for (i, d) in documents.enumerated() {
            let ids = encoder.encode(d)
            tokens += ids.count
            guard ids == reference[i] else {
                let at = (0..<min(ids.count, reference[i].count)).first { ids[$0] != reference[i][$0] } ?? min(ids.count, reference[i].count)
                let ours = ids[at...].prefix(8).map { String(decoding: tokenizer.bytes(of: $0, includeSpecial: true), as: UTF8.self) }
                let theirs = reference[i][at...].prefix(8).map { String(decoding: tokenizer.bytes(of: $0, includeSpecial: true), as: UTF8.self) }
                XCTFail("\(json.lastPathComponent) (generic \(generic)): document \(i) differs at token \(at): ours \(ours), tokenizers \(theirs)", file: file, line: line)
                return
            }
        }
        print("\(json.lastPathComponent)\(generic ? " (generic encoder)" : ""): \(documents.count) documents, \(tokens) tokens identical to tokenizers")
    }

    func testEveryReferenceTokenizerEncodesTheDefaultCorporaLikeTokenizers() throws {
        let python = try ReferencePython.python(importing: ["tokenizers"])
        let dir = try TemporaryDirectory()
        let documents = try Self.documents()
        let docs = dir.url.appendingPathComponent("docs.bin")
        try Self.write(documents, to: docs)
        let train = dir.url.appendingPathComponent("train.txt")
        var text = Data()
        for d in documents where text.count < 400_000 { text.append(d) }
        try text.write(to: train)
        let made = try runProcess(python, [Self.script.path, "make", dir.url.path, train.path])
        XCTAssertEqual(made.status, 0, made.stderr)
        for name in ["llama3", "qwen2", "smollm2", "gpt2", "llama2-legacy", "llama2"] {
            try assertSameIds(dir.url.appendingPathComponent("\(name).json"), documents, docs: docs, python: python, generic: true)
        }
        var trainer = BPETrainer()
        for d in documents { trainer.add(d) }
        let own = dir.url.appendingPathComponent("btxpipe.json")
        try trainer.train(vocabSize: 1200).huggingFaceJSON().write(to: own)
        XCTAssertNotNil(try HFTokenizer(json: try Data(contentsOf: own)).btxpipe, "btxpipe's own file takes the fast path")
        try assertSameIds(own, documents, docs: docs, python: python, generic: false)
        try assertSameIds(own, documents, docs: docs, python: python, generic: true)
    }
}
