import BTXData
import BTXStore
import Foundation

/// Tokenizer and corpus-reading speed: BPE training time and encode MB/s on 5 MB of the code
/// corpus (Python stdlib), and gzip decode MB/s on WordNet's dictzip file.
///
/// NOTE: self-contained until the shared `BenchReport` helper lands; each measurement prints one
/// table row and one JSON line through `emit`.
struct TokenizerBench {
    /// Bytes of the code corpus used.
    var corpusBytes = 5_000_000
    /// Vocabulary trained.
    var vocabSize = 2048

    func run(emit: (String) -> Void) throws {
        let docs = try DefaultCorpora.codeSource.documents(format: .text).sample(maxBytes: corpusBytes)
        let mb = Double(docs.byteCount) / 1e6
        var start = Date()
        var trainer = BPETrainer()
        docs.bytes.withUnsafeBytes { all in
            var from = 0
            for end in docs.ends {
                trainer.add(UnsafeRawBufferPointer(rebasing: all[from..<end]))
                from = end
            }
        }
        let tokenizer = try trainer.train(vocabSize: vocabSize)
        let trainSeconds = Date().timeIntervalSince(start)
        emit(String(format: "tokenizer train  %6.2f MB  vocab %5d  %7.2f s", mb, vocabSize, trainSeconds))
        emit(json(["bench": "tokenizer_train", "config": .string("code-\(docs.byteCount)"), "vocab": .int(Int64(vocabSize)),
                   "seconds": .double(trainSeconds)]))

        start = Date()
        let ids = BPEEncoder(tokenizer).encode(docs.bytes)
        let encodeSeconds = Date().timeIntervalSince(start)
        emit(String(format: "tokenizer encode %6.2f MB  %7.1f MB/s  %.2f bytes/token (one core, cold cache)",
                    mb, mb / encodeSeconds, Double(docs.byteCount) / Double(ids.count)))
        emit(json(["bench": "tokenizer_encode", "config": .string("code-\(docs.byteCount)"),
                   "mb_per_s": .double(mb / encodeSeconds), "bytes_per_token": .double(Double(docs.byteCount) / Double(ids.count))]))

        let gz = "/usr/share/dictd/wn.dict.dz"
        start = Date()
        var decoded = 0
        try Gzip.decompress(from: FileByteSource(path: gz)) { decoded += $0.count }
        let gzSeconds = Date().timeIntervalSince(start)
        let outMB = Double(decoded) / 1e6
        emit(String(format: "gzip decode      %6.2f MB  %7.1f MB/s (output bytes)", outMB, outMB / gzSeconds))
        emit(json(["bench": "gzip_decode", "config": "wn.dict.dz", "mb_per_s": .double(outMB / gzSeconds)]))
    }

    private func json(_ fields: [String: JSONValue]) -> String { JSONValue.object(fields).canonicalText }
}
