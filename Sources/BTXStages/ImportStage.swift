import BTXPipeline
import BTXStore
import Foundation

/// `import`: a Hugging Face checkpoint directory (`LlamaForCausalLM`, or `MixtralForCausalLM` for
/// re-import) → a model manifest (tensors by HF name in their stored dtype, config in metadata,
/// `tokenizer.json` as an object when present).
///
/// NOTE: the directory is read from outside the declared inputs, so the cache key knows only its
/// `path` and `revision`: set `revision` (e.g. the HF commit hash) and change it when the files change.
struct ImportStage: StageKind {
    static let name = "import"
    static let version = 1
    static let summary = "import a Hugging Face Llama/Mixtral checkpoint directory"

    func validate(_ params: StageParams) throws {
        _ = try params.string("format", default: "hf", oneOf: ["hf"])
        let path = try params.string("path")
        guard !path.isEmpty else { throw StageError.badParameter(field: "path", expected: "a directory", actual: "\"\"") }
        _ = try params.string("revision", default: "")
    }

    func run(_ context: StageContext) throws -> Manifest {
        let path = try context.params.string("path")
        let start = Date()
        let manifest = try HFImporter.importModel(URL(fileURLWithPath: path), into: context.store, log: context.log)
        let bytes = manifest.tensors.values.reduce(0) { $0 + $1.byteCount }
        context.metric("tensor_bytes", .int(Int64(bytes)))
        context.metric("seconds", .double(Date().timeIntervalSince(start)))
        return manifest
    }
}
