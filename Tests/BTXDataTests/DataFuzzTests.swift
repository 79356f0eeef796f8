@testable import BTXData
import Foundation
import TestSupport
import XCTest

/// Mutated inputs for the data formats (issue 15's fuzzing figure): gzip/dictzip members, btxpipe's
/// serialized BPE tokenizer and Hugging Face `tokenizer.json`. Each input must be read or refused
/// with a one-line error: never a crash, a trap or a hang. `make soak` runs 10,000 per format.
final class DataFuzzTests: XCTestCase {
    private func assertClean(_ outcome: FuzzHarness.Outcome, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(outcome.multiLine, [], "errors must be one line", file: file, line: line)
        XCTAssertLessThan(outcome.slowest, 5, "an input took \(outcome.slowest) s: a hang?", file: file, line: line)
    }

    private func tokenizer() throws -> BPETokenizer {
        var trainer = BPETrainer()
        for text in BPETokenizerTests.corpus { trainer.add(Data(text.utf8)) }
        return try trainer.train(vocabSize: 300)
    }

    func testMutatedGzipMembersDecompressOrFailWithOneLine() throws {
        let dir = try TemporaryDirectory()
        var seeds: [[UInt8]] = []
        for (i, text) in BPETokenizerTests.corpus.enumerated() {
            let file = URL(fileURLWithPath: dir.path("s\(i)"))
            try Data(String(repeating: text, count: 20).utf8).write(to: file)
            let result = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["gzip", "-k", "-f", "-\([1, 4, 6, 9][i % 4])", file.path])
            XCTAssertEqual(result.status, 0, result.stderr)
            seeds.append(Array(try Data(contentsOf: URL(fileURLWithPath: file.path + ".gz"))))
        }
        let outcome = FuzzHarness.run(format: "gzip", seeds: seeds) { bytes in
            var total = 0
            try Compression(path: "fuzz.gz").decompress(from: DataByteSource(Data(bytes))) { total += $0.count }
        }
        assertClean(outcome)
    }

    func testMutatedSerializedTokenizersLoadOrFailWithOneLine() throws {
        let seeds = [Array(try tokenizer().serialized())]
        let outcome = FuzzHarness.run(format: "bpe-serialized", seeds: seeds) { bytes in
            let loaded = try BPETokenizer(serialized: Data(bytes))
            _ = try loaded.decode(BPEEncoder(loaded).encode(Data("hello world".utf8)))
        }
        assertClean(outcome)
    }

    func testMutatedTokenizerJSONLoadsOrFailsWithOneLine() throws {
        let seeds = [Array(try tokenizer().huggingFaceJSON())]
        let outcome = FuzzHarness.run(format: "tokenizer-json", seeds: seeds) { bytes in
            let loaded = try BPETokenizer(huggingFaceJSON: Data(bytes))
            _ = try loaded.decode(BPEEncoder(loaded).encode(Data("hello world".utf8)))
        }
        assertClean(outcome)
    }
}
