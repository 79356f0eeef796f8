import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// `import`: a Hugging Face checkpoint directory (`LlamaForCausalLM`, or `MixtralForCausalLM` for
/// re-import) → a model manifest (tensors by HF name in their stored dtype, config in metadata,
/// `tokenizer.json` as an object when present); or a `.gguf` file (`format: gguf`, or a path ending
/// in `.gguf`) → the same, dequantized to f32, with `tokenizer.json` and `tokenizer_config.json`
/// rebuilt from its metadata (`GGUFImporter`).
///
/// NOTE: the directory is read from outside the declared inputs, so `sourceFingerprint` gives the
/// runner the content fingerprint of its `*.json` and `*.safetensors` files (SHA-256s memoised by
/// size+mtime+inode in the store, so only a changed file is rehashed): replaced weights rerun the
/// import and everything downstream. `revision` is kept as a label.
struct ImportStage: StageKind {
    static let name = "import"
    static let version = 2  // 2: keeps tokenizer_config.json, refuses unsupported tokenizers
    static let summary = "import a Hugging Face Llama/Mixtral checkpoint directory or a llama GGUF file"

    func validate(_ params: StageParams) throws {
        _ = try ImportStage.format(params)
        let path = try params.string("path")
        guard !path.isEmpty else { throw StageError.badParameter(field: "path", expected: "a directory or .gguf file", actual: "\"\"") }
        _ = try params.string("revision", default: "")
    }

    /// "hf" or "gguf": the `format` parameter, defaulting to "gguf" for a path ending in `.gguf`.
    static func format(_ params: StageParams) throws -> String {
        let path = (try? params.string("path")) ?? ""
        return try params.string("format", default: path.lowercased().hasSuffix(".gguf") ? "gguf" : "hf",
                                   rule: "gguf for a path ending in .gguf, else hf", oneOf: ["hf", "gguf"])
    }

    /// The memoised content fingerprint of the checkpoint's config, index, tokenizer and weight files.
    static func sourceFingerprint(_ params: StageParams, store: Store) throws -> JSONValue? {
        let source = LocalSource(path: try params.string("path"), include: ["*.json", "*.safetensors"])
        return .string(try source.fingerprint(memo: Fetcher(store: store).memo).hex)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let path = try context.params.string("path")
        let start = Date()
        let url = URL(fileURLWithPath: path)
        let manifest = try ImportStage.format(context.params) == "gguf"
            ? try GGUFImporter.importModel(url, into: context.store, log: context.log)
            : try HFImporter.importModel(url, into: context.store, log: context.log)
        let bytes = manifest.tensors.values.reduce(0) { $0 + $1.byteCount }
        context.metric("tensor_bytes", .int(Int64(bytes)))
        context.metric("seconds", .double(Date().timeIntervalSince(start)))
        return manifest
    }
}
