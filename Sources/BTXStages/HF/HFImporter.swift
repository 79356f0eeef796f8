import BTXModel
import BTXStore
import Foundation

/// Imports a Hugging Face checkpoint directory (`LlamaForCausalLM` or `MixtralForCausalLM`:
/// `config.json`, `model.safetensors` or a sharded `model.safetensors.index.json`, optional
/// `tokenizer.json` and `tokenizer_config.json`, checked to be a tokenizer btxpipe encodes exactly) into the store as a model manifest.
///
/// Tensors keep the checkpoint's dtype (f32, bf16 or f16) so that an export of an import is
/// byte-identical; they become f32 when a model is loaded (`ModelWeights`). Each tensor streams from
/// the file into the store on its own, so memory stays bounded by a few of the largest tensors.
public enum HFImporter {
    /// Tensors HF checkpoints may carry that are derived, not learned (recomputed from the config).
    static let derivedSuffixes = ["rotary_emb.inv_freq"]

    /// Imports `directory`; `log` receives one line per notable decision; `progress` counts the
    /// tensors and their bytes against the checkpoint's totals.
    public static func importModel(_ directory: URL, into store: Store, progress: TransferProgress? = nil,
                                   log: (String) -> Void = { _ in }) throws -> Manifest {
        let configURL = directory.appendingPathComponent("config.json")
        guard let configData = FileManager.default.contents(atPath: configURL.path) else {
            throw HFError.missingFile(configURL.path, hint: "a Hugging Face model directory has config.json")
        }
        let (architecture, declared) = try HFConfig.read(configData, file: configURL.path)
        let raw = try store.importSafetensors(try weightsFile(directory), progress: progress)
        let tensors = try checkTensors(raw.tensors, architecture: architecture, log: log)
        var manifest = Manifest(kind: ModelManifest.kind, tensors: tensors, metadata: ["config": try architecture.configJSON()])
        let dtypes = Set(tensors.values.map(\.dtype)).map(\.rawValue).sorted()
        manifest.metadata["source"] = ["format": "hf", "dtype": .string(declared?.rawValue ?? dtypes.joined(separator: ","))]
        let config = try JSONValue.parse(configData)
        for key in ["bos_token_id", "eos_token_id"] { if let id = config[key]?.intValue { manifest.metadata[key] = .int(Int64(id)) } }
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let tokenizerConfigURL = directory.appendingPathComponent("tokenizer_config.json")
        let hasConfig = FileManager.default.fileExists(atPath: tokenizerConfigURL.path)
        if FileManager.default.fileExists(atPath: tokenizerURL.path) {
            try HFTokenizerFile.check(tokenizerURL, config: hasConfig ? tokenizerConfigURL : nil)
            manifest.objects["tokenizer.json"] = try store.putObject(contentsOf: tokenizerURL)
            if hasConfig { manifest.objects["tokenizer_config.json"] = try store.putObject(contentsOf: tokenizerConfigURL) }
        }
        log("imported \(tensors.count) tensors (\(dtypes.joined(separator: ", "))) of \(architecture.summary)")
        return manifest
    }

    /// `model.safetensors.index.json` if present, else `model.safetensors`.
    static func weightsFile(_ directory: URL) throws -> URL {
        for name in ["model.safetensors.index.json", "model.safetensors"] {
            let url = directory.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        let hint = FileManager.default.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path)
            ? "only pytorch_model.bin found: convert it to safetensors first (pickle files are not read)"
            : "expected model.safetensors or model.safetensors.index.json"
        throw HFError.missingFile(directory.appendingPathComponent("model.safetensors").path, hint: hint)
    }

    /// The checkpoint's tensors checked against the architecture's layout: every tensor present with
    /// its shape and a float dtype; derived tensors and a tied model's duplicate head dropped; biases
    /// and anything else unexpected refused by name.
    static func checkTensors(_ found: [String: TensorEntry], architecture: ModelArchitecture,
                             log: (String) -> Void) throws -> [String: TensorEntry] {
        var tensors = found.filter { entry in !derivedSuffixes.contains { entry.key.hasSuffix($0) } }
        if architecture.llama.tieWordEmbeddings, let head = tensors["lm_head.weight"] {
            guard head.object == tensors["model.embed_tokens.weight"]?.object else {
                throw HFError.badTensors("tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight")
            }
            tensors["lm_head.weight"] = nil
            log("dropped lm_head.weight (identical to the tied embeddings)")
        }
        let layout = architecture.layout
        for (name, shape) in layout {
            guard let entry = tensors[name] else { throw HFError.badTensors("missing \(name) (shape \(shape))") }
            guard entry.shape == shape else { throw HFError.badTensors("\(name) has shape \(entry.shape), config implies \(shape)") }
            guard entry.dtype.isFloat else { throw HFError.badTensors("\(name) has dtype \(entry.dtype.rawValue); expected f32, bf16 or f16") }
        }
        let expected = Set(layout.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            if extra.hasSuffix(".bias") { throw HFError.unsupported(file: "safetensors", feature: "bias tensor \(extra)") }
            throw HFError.badTensors("unexpected tensor \(extra) (not part of \(architecture.summary))")
        }
        return tensors
    }
}
