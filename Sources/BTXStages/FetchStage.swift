import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// `fetch`: a local source (a directory with include/exclude globs) read and split into documents,
/// sampled deterministically to `max_bytes` → a "corpus" manifest.
///
/// Params: `domain`, `path`, `include`, `exclude`, `format` (text, lines, paragraphs, jsonl, dictd),
/// `text_field` (jsonl), `max_bytes`. The source's content fingerprint is recorded in the metadata.
///
/// NOTE: the stage key covers the params, not the files: a changed local file is only noticed once
/// the data colleague's memoised fingerprint feeds the key (see DESIGN.md §2, "pinned by SHA-256").
struct FetchStage: StageKind {
    static let name = "fetch"
    static let version = 1
    static let summary = "read a local corpus (glob, format) into documents"

    func validate(_ params: StageParams) throws {
        _ = try params.string("domain")
        _ = try params.string("path")
        _ = try params.strings("include", default: [])
        _ = try params.strings("exclude", default: [])
        _ = try format(params)
        _ = try params.int("max_bytes", default: DefaultCorpora.maxBytesPerDomain, in: 1...Int.max)
    }

    private func format(_ params: StageParams) throws -> DocumentFormat {
        let name = try params.string("format", default: "text", oneOf: ["text", "lines", "paragraphs", "jsonl", "dictd"])
        return try DocumentFormat(name: name, textField: try params.string("text_field", default: "text"))
    }

    func run(_ context: StageContext) throws -> Manifest {
        let p = context.params
        let source = LocalSource(path: try p.string("path"), include: try p.strings("include", default: []),
                                 exclude: try p.strings("exclude", default: []))
        let all: DocumentCollection
        do { all = try source.documents(format: try format(p)) } catch {
            throw StageError.failed("fetch \(try p.string("path")): \(error)")
        }
        guard all.count > 0 else { throw StageError.failed("fetch \(try p.string("path")): no documents matched") }
        let documents = all.sample(maxBytes: try p.int("max_bytes", default: DefaultCorpora.maxBytesPerDomain))
        context.log("\(all.count) documents, \(all.byteCount) bytes; kept \(documents.count) documents, \(documents.byteCount) bytes")
        context.metric("bytes", .int(Int64(documents.byteCount)))
        return try CorpusManifest.make(domain: try p.string("domain"), documents: documents, store: context.store,
                                       metadata: ["source_bytes": .int(Int64(all.byteCount))])
    }
}
