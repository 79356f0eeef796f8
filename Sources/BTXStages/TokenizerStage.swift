import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// `tokenizer`: byte-level BPE trained over the `corpora` inputs (the domain mixture) → a "tokenizer"
/// manifest with the serialized tokenizer (`tokenizer`) and its Hugging Face `tokenizer.json`.
struct TokenizerStage: StageKind {
    static let name = "tokenizer"
    static let version = 2  // 2: GPT-2's regex with Unicode classes (identical to tokenizers)
    static let summary = "train a byte-level BPE tokenizer over the corpora"

    func validate(_ params: StageParams) throws {
        _ = try params.int("vocab_size", default: 2048, in: 258...(1 << 20))
        _ = try params.int("max_bytes_per_corpus", default: 2_000_000, in: 1...Int.max)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let corpora = context.inputList("corpora")
        guard !corpora.isEmpty else { throw StageError.missingInput(name: "corpora") }
        var trainer = BPETrainer()
        let budget = try context.params.int("max_bytes_per_corpus", default: 2_000_000)
        for (i, corpus) in corpora.enumerated() {
            let documents = try CorpusManifest.documents(corpus, store: context.store, input: "corpora.\(i)").sample(maxBytes: budget)
            for d in 0..<documents.count { trainer.add(documents[d]) }
        }
        let tokenizer: BPETokenizer
        do { tokenizer = try trainer.train(vocabSize: try context.params.int("vocab_size", default: 2048)) } catch {
            throw StageError.failed("tokenizer: \(error)")
        }
        context.log("trained \(tokenizer.merges.count) merges on \(trainer.byteCount) bytes; vocabulary \(tokenizer.vocabSize)")
        return Manifest(kind: "tokenizer",
                        objects: ["tokenizer": try context.store.putObject(tokenizer.serialized()),
                                  "tokenizer.json": try context.store.putObject(tokenizer.huggingFaceJSON())],
                        metadata: ["vocab_size": .int(Int64(tokenizer.vocabSize))])
    }
}
