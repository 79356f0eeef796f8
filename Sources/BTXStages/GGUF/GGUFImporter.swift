import BTXModel
import BTXStore
import Foundation

/// Imports a GGUF file (llama architecture, dense or MoE) into the store as a model manifest: every
/// tensor dequantized to f32 under its Hugging Face name, the config from the metadata
/// (`GGUFModelConfig`), and the tokenizer rebuilt from `tokenizer.ggml.*` as `tokenizer.json` and
/// `tokenizer_config.json` objects (`GGUFTokenizer`).
///
/// Two things make the imported model compute what the original HF model computes: the Q and K
/// projections' rows are put back in HF's order (`LlamaRoPEPermutation.toHF`), and the stacked
/// expert tensors `blk.N.ffn_*_exps` are split into Mixtral's per-expert `w1`/`w2`/`w3`.
///
/// NOTE: the whole plan (names, shapes, types) is checked before the first tensor is read, and
/// tensors then stream one at a time (raw blocks → f32 → store), so memory stays near a few copies
/// of the largest tensor and a bad file is refused before anything is written.
public enum GGUFImporter {
    /// One GGUF tensor and where it goes.
    struct Step {
        let tensor: GGUFTensorInfo
        /// The HF name, or the Mixtral weight ("w1", "w2", "w3") of a stacked expert tensor.
        let target: String
        let layer: Int?
        /// Attention heads whose RoPE row order to undo (Q: H, K: KVH), or nil.
        let ropeHeads: Int?
        var stacked: Bool { layer != nil }
    }

    /// Imports the GGUF file at `url`; `log` receives one line per notable decision; `progress` counts
    /// the GGUF tensors and their bytes in the file against the file's totals.
    public static func importModel(_ url: URL, into store: Store, progress: TransferProgress? = nil,
                                   log: (String) -> Void = { _ in }) throws -> Manifest {
        let reader = try GGUFReader(path: url.path)
        guard let embedding = reader.tensors.first(where: { $0.name == "token_embd.weight" }), embedding.shape.count == 2 else {
            throw GGUFError.malformed(file: reader.path, field: "tensor token_embd.weight", problem: "missing or not 2-D")
        }
        let tied = !reader.tensors.contains { $0.name == "output.weight" }
        let architecture = try GGUFModelConfig(reader: reader).architecture(vocabRows: embedding.shape[0], tied: tied)
        let steps = try plan(reader, architecture)
        let tokenizer = try GGUFTokenizer(reader: reader)
        var tensors: [String: TensorEntry] = [:]
        progress?.expect(objects: steps.count, bytes: steps.reduce(0) { $0 + Int64($1.tensor.byteCount) })
        for step in steps {
            for (name, entry) in try run(step, reader: reader, store: store) { tensors[name] = entry }
            progress?.add(bytes: Int64(step.tensor.byteCount))
        }
        var manifest = Manifest(kind: ModelManifest.kind, tensors: tensors, metadata: ["config": try architecture.configJSON()])
        let types = Set(reader.tensors.map(\.type.name)).sorted()
        manifest.metadata["source"] = ["format": "gguf", "dtype": .string(types.joined(separator: ",")),
                                       "gguf_version": .int(Int64(reader.version))]
        for (key, id) in [("bos_token_id", tokenizer.bosID), ("eos_token_id", tokenizer.eosID)] {
            if let id { manifest.metadata[key] = .int(Int64(id)) }
        }
        manifest.objects["tokenizer.json"] = try store.putObject(try tokenizer.tokenizerJSON().canonicalData)
        manifest.objects["tokenizer_config.json"] = try store.putObject(tokenizer.tokenizerConfigJSON().canonicalData)
        if tied { log("no output.weight: the LM head is tied to token_embd.weight") }
        log("imported \(reader.tensors.count) GGUF tensors (\(types.joined(separator: ", ")), dequantized to f32) as \(tensors.count) tensors of \(architecture.summary)")
        return manifest
    }

    /// Every tensor of the file mapped, with its type and shape checked against the architecture.
    static func plan(_ reader: GGUFReader, _ architecture: ModelArchitecture) throws -> [Step] {
        let c = architecture.llama
        let expected = Dictionary(architecture.layout.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        var steps: [Step] = []
        var produced = Set<String>()
        for tensor in reader.tensors {
            let field = "tensor \(tensor.name)"
            guard GGMLDequantize.supported.contains(tensor.type) else {
                let names = GGMLDequantize.supported.map(\.name).sorted().joined(separator: ", ")
                throw GGUFError.unsupported(file: reader.path, field: field, feature: "ggml type \(tensor.type.name) (btxpipe dequantizes \(names))")
            }
            let step = try mapping(tensor, c, reader: reader)
            let names = step.stacked
                ? (0..<(architecture.moe?.numLocalExperts ?? 0)).map { MoEParameters.expert(step.layer!, $0, step.target) }
                : [step.target]
            let shape = step.stacked ? Array(tensor.shape.dropFirst()) : tensor.shape
            for name in names {
                guard let want = expected[name] else {
                    throw GGUFError.malformed(file: reader.path, field: field, problem: "maps to \(name), which \(architecture.summary) does not have")
                }
                guard want == shape, !step.stacked || tensor.shape.first == names.count else {
                    throw GGUFError.malformed(file: reader.path, field: field, problem: "shape \(tensor.shape) does not fit \(name) \(want) of \(architecture.summary)")
                }
                produced.insert(name)
            }
            steps.append(step)
        }
        if let missing = architecture.layout.first(where: { !produced.contains($0.name) }) {
            throw GGUFError.malformed(file: reader.path, field: "tensors", problem: "no tensor for \(missing.name) \(missing.shape)")
        }
        return steps
    }

    /// The HF destination of one GGUF tensor; unknown names (biases, rope_freqs, …) are refused.
    private static func mapping(_ tensor: GGUFTensorInfo, _ c: LlamaConfig, reader: GGUFReader) throws -> Step {
        if let hf = GGUFTensorNames.hfName(tensor.name) {
            let heads = hf.hasSuffix("self_attn.q_proj.weight") ? c.numAttentionHeads
                : hf.hasSuffix("self_attn.k_proj.weight") ? c.numKeyValueHeads : nil
            return Step(tensor: tensor, target: hf, layer: nil, ropeHeads: heads)
        }
        let parts = tensor.name.split(separator: ".", maxSplits: 2)
        if parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]),
           let stacked = GGUFTensorNames.stackedExperts.first(where: { $0.gguf == parts[2] }), tensor.shape.count == 3 {
            return Step(tensor: tensor, target: stacked.hf, layer: layer, ropeHeads: nil)
        }
        throw GGUFError.unsupported(file: reader.path, field: "tensor \(tensor.name)", feature: "a tensor btxpipe's llama has no place for")
    }

    /// Reads, dequantizes and stores one step's tensor(s).
    static func run(_ step: Step, reader: GGUFReader, store: Store) throws -> [(String, TensorEntry)] {
        var values = try reader.floats(step.tensor)
        let shape = step.tensor.shape
        if let heads = step.ropeHeads {
            guard shape.count == 2, shape[0] % (2 * heads) == 0 else {
                throw GGUFError.malformed(file: reader.path, field: "tensor \(step.tensor.name)",
                                          problem: "\(shape[0]) rows are not a whole number of \(heads) heads × 2")
            }
            values = LlamaRoPEPermutation.toHF(values, rows: shape[0], cols: shape[1], heads: heads)
        }
        guard let layer = step.layer else { return [(step.target, try store.putTensor(values, shape: shape))] }
        let per = shape[1] * shape[2]
        return try (0..<shape[0]).map { e in
            let entry = try values.withUnsafeBytes { raw in
                try store.putTensor(UnsafeRawBufferPointer(rebasing: raw[e * per * 4..<(e + 1) * per * 4]), dtype: .f32, shape: [shape[1], shape[2]])
            }
            return (MoEParameters.expert(layer, e, step.target), entry)
        }
    }
}
