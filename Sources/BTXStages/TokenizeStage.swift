import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// `tokenize`: a `corpus` encoded with a `tokenizer` and split into training and validation tokens by
/// document hash → a "tokens" manifest (tensors `train`, `validation`: u16 or u32; see `TokenCorpus`).
struct TokenizeStage: StageKind {
    static let name = "tokenize"
    static let version = 1
    static let summary = "encode a corpus and split it into training and validation tokens"

    func validate(_ params: StageParams) throws {
        _ = try params.double("validation_fraction", default: 0.02, in: 0...0.5)
        _ = try params.int("min_validation_tokens", default: 16_384, in: 0...Int.max)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let corpus = try context.input("corpus")
        let documents = try CorpusManifest.documents(corpus, store: context.store, input: "corpus")
        let tokenizer = try MathAccuracy.tokenizer(context)
        let split = TokenSplit(documents: documents, encoder: BPEEncoder(tokenizer),
                               validationFraction: try context.params.double("validation_fraction", default: 0.02),
                               minValidationTokens: try context.params.int("min_validation_tokens", default: 16_384))
        let dtype = TokenSplit.dtype(vocabSize: tokenizer.vocabSize)
        func tensor(_ tokens: [UInt32]) throws -> TensorEntry {
            try TokenSplit.bytes(tokens, dtype: dtype).withUnsafeBytes {
                try context.store.putTensor($0, dtype: dtype, shape: [tokens.count])
            }
        }
        let domain = corpus.metadata["domain"]?.stringValue ?? "corpus"
        context.log("\(domain): \(split.train.count) training tokens (\(split.trainDocuments) documents), \(split.validation.count) validation tokens (\(split.validationDocuments) documents)")
        context.metric("train_tokens", .int(Int64(split.train.count)))
        return Manifest(kind: TokenCorpus.kind, tensors: ["train": try tensor(split.train), "validation": try tensor(split.validation)],
                        metadata: ["domain": .string(domain), "train_tokens": .int(Int64(split.train.count)),
                                   "validation_tokens": .int(Int64(split.validation.count)),
                                   "bytes_per_token": .double(Double(documents.byteCount) / Double(max(1, split.train.count + split.validation.count)))])
    }
}
