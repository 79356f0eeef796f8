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

    /// Encodes `documents` with the tokenizer in `json` here and in `tokenizers`; fails on the first
    /// document that differs, showing where.
    func assertSameIds(_ json: URL, _ documents: [Data], docs: URL, python: URL, generic: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let out = json.deletingPathExtension().appendingPathExtension("ids")
        let result = try runProcess(python, [Self.script.path, "encode", json.path, docs.path, out.path])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let reference = try ReferenceCorpora.readIds(out, count: documents.count)
        XCTAssertEqual(reference.count, documents.count, file: file, line: line)
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
        let (documents, docs, train) = try ReferenceCorpora.prepare(in: dir.url)
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
