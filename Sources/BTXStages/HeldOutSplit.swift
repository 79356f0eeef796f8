import BTXPipeline
import Foundation

/// Which held-out tokens `evaluate` scores. A domain's validation tokens (from `tokenize`, documents
/// never trained on) are cut in two: **test**, the first `max_batches · B · T + 1` tokens (what every
/// report row is scored on), and **dev**, from the first document boundary after the test tokens to
/// the end, for choosing hyperparameters (`tune`) without looking at the test tokens. The two share
/// no token, and no document unless the one the test ends in runs to within a sequence of the end
/// (then dev starts right after the test's last token). The cut depends only on the evaluation's
/// batch shape, so a tuning pipeline that evaluates with the report's `vars.eval` never scores a test token.
enum HeldOutSplit: String, CaseIterable {
    case test, dev

    /// Tokens of the test split at this batch shape: the windows `ValidationBatches` takes for
    /// `maxBatches` batches (T + 1 tokens each, overlapping by one).
    static func testTokenCount(batchSize: Int, sequenceLength: Int, maxBatches: Int) -> Int {
        maxBatches * batchSize * sequenceLength + 1
    }

    /// The range of `validation` this split covers; `endOfDocument` marks document ends.
    /// Throws when the dev split would hold less than one sequence (T + 1 tokens).
    func range(of validation: [UInt32], endOfDocument: UInt32, batchSize: Int, sequenceLength: Int,
               maxBatches: Int, domain: String) throws -> Range<Int> {
        let testEnd = min(validation.count, Self.testTokenCount(batchSize: batchSize, sequenceLength: sequenceLength,
                                                                maxBatches: maxBatches))
        guard self == .dev else { return 0..<testEnd }
        // The first token after the document the test split ends in (the test's last token may be its EOS),
        // unless that document runs to within a sequence of the end (a long source file): then right
        // after the test's last token.
        var start = testEnd
        if testEnd > 0 && validation[testEnd - 1] != endOfDocument, let end = validation[testEnd...].firstIndex(of: endOfDocument),
           validation.count - (end + 1) >= sequenceLength + 1 {
            start = end + 1
        }
        guard validation.count - start >= sequenceLength + 1 else {
            throw StageError.failed("domain '\(domain)': the dev split needs at least \(sequenceLength + 1) validation tokens after the test split's \(testEnd), the domain has \(validation.count) (raise tokenize's min_validation_tokens or lower max_batches)")
        }
        return start..<validation.count
    }
}
