import BTXData
import BTXStore
import Foundation
import TestSupport
import XCTest

final class TokenSplitTests: XCTestCase {
    private func setup() throws -> (DocumentCollection, BPEEncoder) {
        var docs = DocumentCollection()
        var trainer = BPETrainer()
        for i in 0..<400 {
            let d = Data("Document \(i): the value is \(i * 37 % 101).\n".utf8)
            docs.append(d)
            trainer.add(d)
        }
        return (docs, BPEEncoder(try trainer.train(vocabSize: 300)))
    }

    func testSplitIsDeterministicDisjointAndEndsDocumentsWithEOS() throws {
        let (docs, encoder) = try setup()
        let a = TokenSplit(documents: docs, encoder: encoder, endOfDocument: encoder.tokenizer.eos, validationFraction: 0.05)
        XCTAssertEqual(a, TokenSplit(documents: docs, encoder: BPEEncoder(encoder.tokenizer), endOfDocument: encoder.tokenizer.eos, validationFraction: 0.05))
        let eos = encoder.tokenizer.eos
        XCTAssertEqual(a.train.filter { $0 == eos }.count, a.trainDocuments)
        XCTAssertEqual(a.validation.filter { $0 == eos }.count, a.validationDocuments)
        XCTAssertEqual(a.trainDocuments + a.validationDocuments, 400)
        XCTAssertGreaterThan(a.validationDocuments, 10)
        XCTAssertEqual(Double(a.validation.count) / Double(a.train.count + a.validation.count), 0.05, accuracy: 0.01)
        let text = String(decoding: try encoder.tokenizer.decode(a.validation), as: UTF8.self)
        for line in text.split(separator: "\n") { XCTAssertFalse(String(decoding: try encoder.tokenizer.decode(a.train), as: UTF8.self).contains(line + "\n")) }
    }

    func testMinimumValidationTokensIsHonoured() throws {
        let (docs, encoder) = try setup()
        let s = TokenSplit(documents: docs, encoder: encoder, endOfDocument: encoder.tokenizer.eos, validationFraction: 0.0, minValidationTokens: 1000)
        XCTAssertGreaterThanOrEqual(s.validation.count, 1000)
        XCTAssertLessThan(s.validation.count, 1100)
    }

    func testTokenBytesRoundTripInU16AndU32() {
        let tokens: [UInt32] = [0, 1, 65535, 300]
        XCTAssertEqual(TokenSplit.dtype(vocabSize: 2048), .u16)
        XCTAssertEqual(TokenSplit.dtype(vocabSize: 70000), .u32)
        XCTAssertEqual(TokenSplit.tokens(TokenSplit.bytes(tokens, dtype: .u16), dtype: .u16), tokens)
        XCTAssertEqual(TokenSplit.tokens(TokenSplit.bytes(tokens + [70000], dtype: .u32), dtype: .u32), tokens + [70000])
        XCTAssertEqual(TokenSplit.bytes(tokens, dtype: .u16).count, 8)
    }

    func testTokensRoundTripThroughTheStoreAsU16Tensors() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url, report: { _ in })
        let tokens: [UInt32] = [5, 0, 2047, 300, 1]
        let entry = try TokenSplit.bytes(tokens, dtype: .u16).withUnsafeBytes { try store.putTensor($0, dtype: .u16, shape: [5]) }
        XCTAssertEqual(try TokenSplit.tokens(of: entry, in: store), tokens)
        let floats = try store.putTensor([1, 2], shape: [2])
        XCTAssertThrowsError(try TokenSplit.tokens(of: floats, in: store))
    }
}
