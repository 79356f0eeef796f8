import BTXModel
import BTXStore
import Foundation

/// Writes a model manifest as a GGUF file llama.cpp and Ollama run: the `llama` architecture with
/// the names, Q/K row order and metadata llama.cpp's converter writes for `LlamaForCausalLM`, and
/// for an MoE its Mixtral layout (experts stacked per layer into `blk.N.ffn_*_exps`). The model's
/// tokenizer goes into the metadata (`GGUFTokenizerMetadata`), so the file needs no side files.
///
/// Streaming: one source tensor at a time is read from the store as f32 and converted in chunks,
/// so memory stays near the largest tensor's f32 size (an MoE's stacked tensor is written expert by
/// expert).
public struct GGUFExporter {
    /// The weights' type, as llama.cpp's `--outtype` / `general.file_type` name it. Norms and
    /// routers stay f32 whatever is chosen, as the converter does it.
    public enum FileType: String, CaseIterable, Sendable {
        case f32, f16, q8_0, q4_0

        /// The ggml type of the quantizable (2-D) weights.
        var ggml: GGMLType {
            switch self {
            case .f32: return .f32
            case .f16: return .f16
            case .q8_0: return .q8_0
            case .q4_0: return .q4_0
            }
        }

        /// llama.cpp's `enum llama_ftype` (ALL_F32, MOSTLY_F16, MOSTLY_Q4_0, MOSTLY_Q8_0).
        var llamaFileType: UInt32 {
            switch self {
            case .f32: return 0
            case .f16: return 1
            case .q4_0: return 2
            case .q8_0: return 7
            }
        }
    }

    /// The weights' type.
    public var fileType: FileType
    /// Export routing variants llama.cpp computes differently (with a warning) instead of refusing.
    public var allowRoutingChange: Bool
    /// `general.name`.
    public var name: String

    /// An exporter writing `fileType` weights.
    public init(fileType: FileType = .f32, allowRoutingChange: Bool = false, name: String = "btxpipe") {
        self.fileType = fileType
        self.allowRoutingChange = allowRoutingChange
        self.name = name
    }

    /// One tensor of the file and the store tensors it comes from (several for stacked experts).
    struct Planned {
        var tensor: GGUFWriter.Tensor
        var sources: [String]
        /// Heads of llama.cpp's Q/K row permutation, or nil for tensors written as they are.
        var permuteHeads: Int?
    }

    /// Exports `manifest` to the file `url` (replaced atomically). `warn` receives what changes in
    /// the meaning of the model, if anything; `progress` counts the file's tensors and their bytes.
    /// Returns the bytes written.
    @discardableResult
    public func export(_ manifest: Manifest, from store: Store, to url: URL, progress: TransferProgress? = nil,
                       warn: (String) -> Void = { _ in }) throws -> Int {
        var architecture = try ModelArchitecture(manifest)
        if let change = try HFExporter.mixtralRouting(&architecture) {
            guard allowRoutingChange else {
                throw HFError.unsupported(file: "manifest", feature: "\(change); pass --allow-routing-change to export anyway")
            }
            warn("routing changes in the export: \(change)")
        }
        let planned = try plan(architecture, manifest: manifest)
        var metadata = Self.modelMetadata(architecture, name: name, fileType: fileType)
        if let tokenizer = manifest.objects["tokenizer.json"] {
            let special = try HFExporter().specialTokens(manifest, store: store)
            let config = try tokenizerConfig(manifest, store, maxLength: architecture.llama.maxPositionEmbeddings)
            metadata += try GGUFTokenizerMetadata.metadata(try store.object(tokenizer), vocabSize: architecture.llama.vocabSize,
                                                           bos: special.bos, eos: special.eos, pad: config.pad, unk: config.unk,
                                                           chatTemplate: config.chatTemplate)
        } else {
            warn("the model has no tokenizer.json: the GGUF file has no vocabulary and llama.cpp will not load it")
        }
        metadata.append(("general.quantization_version", .uint32(2)))
        let writer = try GGUFWriter(metadata: metadata, tensors: planned.map(\.tensor))
        var chunk = [UInt8](repeating: 0, count: Self.chunkBytes)
        progress?.expect(objects: writer.infos.count, bytes: writer.infos.reduce(0) { $0 + Int64($1.byteCount) })
        try writer.write(to: url) { i, sink in
            for source in planned[i].sources {
                try write(source, planned[i], manifest: manifest, store: store, chunk: &chunk, sink: sink)
            }
            progress?.add(bytes: Int64(writer.infos[i].byteCount))
        }
        let last = writer.infos.last
        return writer.header().count + (last.map { $0.offset + $0.byteCount } ?? 0)
    }

    /// Bytes converted at a time.
    static let chunkBytes = 1 << 20

    /// The file's tensors in layout order: GGUF names, shapes (experts stacked), types.
    func plan(_ architecture: ModelArchitecture, manifest: Manifest) throws -> [Planned] {
        let c = architecture.llama
        var out: [Planned] = []
        for (name, shape) in architecture.layout {
            guard let entry = manifest.tensors[name], entry.shape == shape, entry.dtype.isFloat else {
                throw HFError.notAModel("tensor \(name) missing or not a float tensor of shape \(shape)")
            }
            if let gguf = GGUFTensorNames.ggufName(name) {
                let heads = name.hasSuffix("q_proj.weight") ? c.numAttentionHeads : name.hasSuffix("k_proj.weight") ? c.numKeyValueHeads : nil
                out.append(Planned(tensor: .init(name: gguf, shape: shape, type: ggmlType(gguf, shape)), sources: [name], permuteHeads: heads))
                continue
            }
            guard let moe = architecture.moe, let (layer, w) = Self.firstExpert(name),
                  let gguf = GGUFTensorNames.stackedExperts.first(where: { $0.hf == w })?.gguf else { continue }
            let stacked = [moe.numLocalExperts] + shape
            let sources = (0..<moe.numLocalExperts).map { MoEParameters.expert(layer, $0, w) }
            out.append(Planned(tensor: .init(name: "blk.\(layer).\(gguf)", shape: stacked, type: ggmlType(gguf, stacked)), sources: sources))
        }
        return out
    }

    /// (layer, "w1") for expert 0's tensors (the other experts join its stacked tensor).
    static func firstExpert(_ name: String) -> (Int, String)? {
        let parts = name.split(separator: ".")
        guard parts.count == 8, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]),
              parts[3] == "block_sparse_moe", parts[4] == "experts", parts[5] == "0" else { return nil }
        return (layer, String(parts[6]))
    }

    /// The converter's choice: 1-D tensors, norms and routers f32; rows that are not whole blocks f16.
    func ggmlType(_ gguf: String, _ shape: [Int]) -> GGMLType {
        if shape.count <= 1 || gguf.hasSuffix("_norm.weight") || gguf.hasSuffix("ffn_gate_inp.weight") { return .f32 }
        let type = fileType.ggml
        if let block = type.blockSize, let row = shape.last, row % block != 0 { return .f16 }
        return type
    }

    /// The `general.*` and `llama.*` keys, with the value types llama.cpp's converter writes.
    static func modelMetadata(_ architecture: ModelArchitecture, name: String, fileType: FileType) -> [(key: String, value: GGUFValue)] {
        let c = architecture.llama
        func u32(_ v: Int) -> GGUFValue { .uint32(UInt32(v)) }
        var out: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("llama")), ("general.type", .string("model")), ("general.name", .string(name)),
            ("llama.block_count", u32(c.numHiddenLayers)), ("llama.context_length", u32(c.maxPositionEmbeddings)),
            ("llama.embedding_length", u32(c.hiddenSize)), ("llama.feed_forward_length", u32(c.intermediateSize)),
            ("llama.attention.head_count", u32(c.numAttentionHeads)), ("llama.attention.head_count_kv", u32(c.numKeyValueHeads)),
            ("llama.rope.freq_base", .float32(Float(c.ropeTheta))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(Float(c.rmsNormEps))),
            ("llama.attention.key_length", u32(c.headSize)), ("llama.attention.value_length", u32(c.headSize)),
        ]
        if let moe = architecture.moe {
            out += [("llama.expert_count", u32(moe.numLocalExperts)), ("llama.expert_used_count", u32(moe.numExpertsPerTok))]
        }
        out += [("general.file_type", .uint32(fileType.llamaFileType)), ("llama.vocab_size", u32(c.vocabSize)),
                ("llama.rope.dimension_count", u32(c.headSize))]
        return out
    }

    /// What llama.cpp's converter reads from the `tokenizer_config.json` an HF export of this model
    /// carries (gguf-py `SpecialVocab`): the chat template and the pad / unk token ids.
    func tokenizerConfig(_ manifest: Manifest, _ store: Store, maxLength: Int) throws
        -> (chatTemplate: String?, pad: Int?, unk: Int?) {
        let tokenizer = try? HFTokenizerFile.tokenizer(manifest, store: store)
        let data = try manifest.objects["tokenizer_config.json"].map { try store.object($0) }
            ?? HFTokenizerFile.config(for: tokenizer, maxLength: maxLength)
        let config = try? JSONValue.parse(data)
        func id(_ key: String) -> Int? {
            // A special token is written either as its text or as an AddedToken object.
            guard let text = config?[key]?.stringValue ?? config?[key]?["content"]?.stringValue else { return nil }
            return tokenizer?.id(of: text).map { Int($0) }
        }
        return (config?["chat_template"]?.stringValue, id("pad_token"), id("unk_token"))
    }

    /// Streams one store tensor, Q/K rows permuted, converted to the planned type chunk by chunk.
    func write(_ source: String, _ planned: Planned, manifest: Manifest, store: Store, chunk: inout [UInt8],
               sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let entry = manifest.tensors[source]!
        let values = try store.floats(entry)
        guard values.allSatisfy(\.isFinite) else {
            throw GGUFExportError.badTensor(name: source, problem: "holds NaN or infinite values (the model diverged?)")
        }
        let cols = entry.shape.last ?? 1, rows = values.count / max(cols, 1)
        // NOTE: Q/K rows are permuted while converting (row r of the file ← row sources[r]), not in a copy.
        let sources = planned.permuteHeads.map { LlamaRoPEPermutation.ggufRowSources(rows: rows, heads: $0) }
        let type = planned.tensor.type
        let rowBytes = type.byteCount(elements: cols)!
        if chunk.count < rowBytes { chunk = [UInt8](repeating: 0, count: rowBytes) }
        let rowsPerChunk = chunk.count / rowBytes
        try values.withUnsafeBufferPointer { v in
            try chunk.withUnsafeMutableBytes { buffer in
                var row = 0
                while row < rows {
                    let n = min(rowsPerChunk, rows - row)
                    if let sources {
                        for r in 0..<n {
                            let s = sources[row + r]
                            GGMLQuantize.quantize(UnsafeBufferPointer(rebasing: v[s * cols..<(s + 1) * cols]), as: type,
                                                  into: UnsafeMutableRawBufferPointer(rebasing: buffer[r * rowBytes..<(r + 1) * rowBytes]))
                        }
                    } else {
                        GGMLQuantize.quantize(UnsafeBufferPointer(rebasing: v[row * cols..<(row + n) * cols]), as: type,
                                              into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(n * rowBytes)]))
                    }
                    try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<(n * rowBytes)]))
                    row += n
                }
            }
        }
    }
}
