import BTXData
import BTXModel
import BTXStore
import Foundation

/// Writes a model manifest as a Hugging Face checkpoint directory: dense → `LlamaForCausalLM`, MoE →
/// `MixtralForCausalLM`, with `config.json`, `generation_config.json`, `tokenizer.json` and `tokenizer_config.json` (when the
/// model has a tokenizer) and `model.safetensors` (or shards plus `model.safetensors.index.json` above
/// `shardBytes`). Tensors already in the wanted dtype are copied byte for byte from the store.
public struct HFExporter {
    /// Weights dtype: nil keeps each tensor as stored (so an export of an import is byte-identical).
    public var dtype: ElementType?
    /// Tensor bytes above which the checkpoint is sharded (HF's default is 5 GB).
    public var shardBytes: Int = 5_000_000_000
    /// Export routing variants Mixtral computes differently (with a warning) instead of refusing.
    public var allowRoutingChange = false

    /// An exporter with HF's defaults.
    public init(dtype: ElementType? = nil, shardBytes: Int = 5_000_000_000, allowRoutingChange: Bool = false) {
        self.dtype = dtype
        self.shardBytes = shardBytes
        self.allowRoutingChange = allowRoutingChange
    }

    /// Exports `manifest` into `directory` (created; must be empty if it exists). `warn` receives
    /// what changes in the meaning of the model, if anything; `progress` counts the tensors written
    /// and their bytes. Returns the files written.
    @discardableResult
    public func export(_ manifest: Manifest, from store: Store, to directory: URL, progress: TransferProgress? = nil,
                       warn: (String) -> Void = { _ in }) throws -> [String] {
        guard dtype == nil || dtype!.isFloat else { throw HFError.badRequest("--dtype must be f32, bf16 or f16") }
        guard shardBytes > 0 else { throw HFError.badRequest("--shard-size must be positive") }
        var architecture = try ModelArchitecture(manifest)
        if let change = try Self.mixtralRouting(&architecture) {
            guard allowRoutingChange else {
                throw HFError.unsupported(file: "manifest", feature: "\(change); pass --allow-routing-change to export anyway")
            }
            warn("routing changes in the export: \(change)")
        }
        let weights = try convertedTensors(manifest, architecture: architecture, store: store)
        try Self.prepare(directory)
        var files: [String] = []
        let total = weights.tensors.values.reduce(0) { $0 + $1.byteCount }
        if total > shardBytes {
            files += try store.exportShardedSafetensors(weights, to: directory, maxShardBytes: shardBytes, progress: progress)
            files.append("model.safetensors.index.json")
        } else {
            try store.exportSafetensors(weights, to: directory.appendingPathComponent("model.safetensors"), progress: progress)
            files.append("model.safetensors")
        }
        let special = try specialTokens(manifest, store: store)
        let weightsDType = weights.tensors["model.embed_tokens.weight"]?.dtype ?? .f32
        try write(HFConfig.write(architecture, dtype: weightsDType, bos: special.bos, eos: special.eos), "config.json", in: directory)
        var generation: [String: JSONValue] = ["_from_model_config": true]
        if let bos = special.bos { generation["bos_token_id"] = .int(Int64(bos)) }
        if let eos = special.eos { generation["eos_token_id"] = .int(Int64(eos)) }
        try write(Data(JSONValue.object(generation).canonicalText.utf8), "generation_config.json", in: directory)
        files += ["config.json", "generation_config.json"]
        files += try writeTokenizer(manifest, store: store, to: directory, maxLength: architecture.llama.maxPositionEmbeddings)
        return files
    }

    /// Maps btxpipe's routing kinds onto Mixtral's top-K; returns what changes, nil when exact.
    /// Soft routing (all experts, softmax weights) is exactly Mixtral with K = E.
    static func mixtralRouting(_ architecture: inout ModelArchitecture) throws -> String? {
        guard var moe = architecture.moe else { return nil }
        defer { architecture.moe = moe }
        let kind = moe.routing
        moe.routing = .topK
        switch kind {
        case .topK:
            return nil
        case .soft:
            moe.numExpertsPerTok = moe.numLocalExperts
            return nil
        case .switchTop1:
            moe.numExpertsPerTok = 1
            return "Switch top-1 becomes Mixtral top-1: no capacity limit (overflow tokens are no longer skipped) and the expert output is no longer scaled by its router probability"
        case .sampleTop1:
            moe.numExpertsPerTok = 1
            return "sample-top-1 (Gumbel) becomes deterministic Mixtral top-1 with gate weight 1 (first layer no longer soft)"
        }
    }

    /// The manifest's layout tensors in the export dtype (converted ones are stored first, so the
    /// writer streams every tensor from the store), as a "safetensors" manifest with HF's metadata.
    func convertedTensors(_ manifest: Manifest, architecture: ModelArchitecture, store: Store) throws -> Manifest {
        var out = Manifest(kind: "safetensors", metadata: ["format": "pt"])
        for (name, shape) in architecture.layout {
            guard let entry = manifest.tensors[name], entry.shape == shape, entry.dtype.isFloat else {
                throw HFError.notAModel("tensor \(name) missing or not a float tensor of shape \(shape)")
            }
            guard let dtype, dtype != entry.dtype else { out.tensors[name] = entry; continue }
            let values = try store.floats(entry)
            switch dtype {
            case .f32: out.tensors[name] = try store.putTensor(values, shape: shape)
            case .bf16: out.tensors[name] = try Self.putHalf(values.map(HalfFloat.floatToBF16), .bf16, shape, store)
            default: out.tensors[name] = try Self.putHalf(values.map(HalfFloat.floatToF16), .f16, shape, store)
            }
        }
        return out
    }

    static func putHalf(_ bits: [UInt16], _ dtype: ElementType, _ shape: [Int], _ store: Store) throws -> TensorEntry {
        try bits.withUnsafeBytes { try store.putTensor($0, dtype: dtype, shape: shape) }
    }

    /// BOS/EOS ids: btxpipe's own tokenizer's, else as recorded at import, else the tokenizer's.
    func specialTokens(_ manifest: Manifest, store: Store) throws -> (bos: Int?, eos: Int?) {
        let tokenizer = try? HFTokenizerFile.tokenizer(manifest, store: store)
        if let own = tokenizer?.btxpipe { return (Int(own.bos), Int(own.eos)) }
        return (manifest.metadata["bos_token_id"]?.intValue ?? tokenizer?.bos.map { Int($0) },
                manifest.metadata["eos_token_id"]?.intValue ?? tokenizer?.eos.map { Int($0) })
    }

    /// `tokenizer.json` (the model's own object) and `tokenizer_config.json` (the source's, else made
    /// from the tokenizer's special tokens); nothing when the model carries no tokenizer.
    func writeTokenizer(_ manifest: Manifest, store: Store, to directory: URL, maxLength: Int) throws -> [String] {
        guard let object = manifest.objects["tokenizer.json"] else { return [] }
        try store.copyObject(object, to: directory.appendingPathComponent("tokenizer.json"))
        if let config = manifest.objects["tokenizer_config.json"] {
            try store.copyObject(config, to: directory.appendingPathComponent("tokenizer_config.json"))
        } else {
            let tokenizer = try? HFTokenizerFile.tokenizer(manifest, store: store)
            try write(HFTokenizerFile.config(for: tokenizer, maxLength: maxLength), "tokenizer_config.json", in: directory)
        }
        return ["tokenizer.json", "tokenizer_config.json"]
    }

    /// Creates `directory`, refusing one that already holds files (an export never mixes with them).
    static func prepare(_ directory: URL) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? fm.contentsOfDirectory(atPath: directory.path))?.isEmpty == true else {
                throw HFError.badRequest("\(directory.path): exists and is not an empty directory (choose a new output directory)")
            }
        }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ data: Data, _ name: String, in directory: URL) throws {
        try data.writeAtomically(to: directory.appendingPathComponent(name))
    }
}
