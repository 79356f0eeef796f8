import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// `import`: a Hugging Face checkpoint directory (`LlamaForCausalLM`, or `MixtralForCausalLM` for
/// re-import) → a model manifest (tensors by HF name in their stored dtype, config in metadata,
/// `tokenizer.json` as an object when present).
///
/// NOTE: the directory is read from outside the declared inputs, so `sourceFingerprint` gives the
/// runner the content fingerprint of its `*.json` and `*.safetensors` files (SHA-256s memoised by
/// size+mtime+inode in the store, so only a changed file is rehashed): replaced weights rerun the
/// import and everything downstream. `revision` is kept as a label.
struct ImportStage: StageKind {
    static let name = "import"
    static let version = 2  // 2: keeps tokenizer_config.json, refuses unsupported tokenizers
    static let summary = "import a Hugging Face Llama/Mixtral checkpoint directory"

    func validate(_ params: StageParams) throws {
        _ = try params.string("format", default: "hf", oneOf: ["hf"])
        let path = try params.string("path")
        guard !path.isEmpty else { throw StageError.badParameter(field: "path", expected: "a directory", actual: "\"\"") }
        _ = try params.string("revision", default: "")
    }

    /// The memoised content fingerprint of the checkpoint's config, index, tokenizer and weight files.
    static func sourceFingerprint(_ params: StageParams, store: Store) throws -> JSONValue? {
        let source = LocalSource(path: try params.string("path"), include: ["*.json", "*.safetensors"])
        return .string(try source.fingerprint(memo: Fetcher(store: store).memo).hex)
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
