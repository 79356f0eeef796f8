import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// `tokenize`: a `corpus` encoded with a `tokenizer` (a tokenizer manifest or a model carrying one:
/// btxpipe's BPE or an imported Hugging Face / GGUF tokenizer) and split into training and validation tokens by
/// document hash → a "tokens" manifest (tensors `train`, `validation`: u16 or u32; see `TokenCorpus`).
struct TokenizeStage: StageKind {
    static let name = "tokenize"
    static let version = 2  // 2: any supported tokenizer.json (tokenizer or model input); metadata.tokenizer
    static let summary = "encode a corpus and split it into training and validation tokens"

    func validate(_ params: StageParams) throws {
        _ = try params.double("validation_fraction", default: 0.02, in: 0...0.5)
        _ = try params.int("min_validation_tokens", default: 16_384, in: 0...Int.max)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let corpus = try context.input("corpus")
        let documents = try CorpusManifest.documents(corpus, store: context.store, input: "corpus")
        let (tokenizer, hash) = try ModelTokenizer.load(context)
        guard let eos = tokenizer.eos else {
            throw StageError.failed("input 'tokenizer': no end-of-sequence token found (tokenizer_config.json eos_token, or </s>, <|endoftext|>, …) to separate documents")
        }
        let split = TokenSplit(documents: documents, encoder: tokenizer.makeEncoder(), endOfDocument: eos,
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
                                   "validation_tokens": .int(Int64(split.validation.count)), "tokenizer": .string(hash.hex),
                                   "bytes_per_token": .double(Double(documents.byteCount) / Double(max(1, split.train.count + split.validation.count)))])
    }
}
