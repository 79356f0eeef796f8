import BTXModel
import Foundation

/// A GGUF file's `llama.*` metadata as a `ModelArchitecture` (llama.cpp's `LLM_KV_*` keys, as
/// convert_hf_to_gguf.py writes them from a Hugging Face `config.json`):
///
/// | GGUF key | HF config |
/// |---|---|
/// | `llama.embedding_length` | hidden_size |
/// | `llama.feed_forward_length` (`llama.expert_feed_forward_length` for MoE if present) | intermediate_size |
/// | `llama.block_count` | num_hidden_layers |
/// | `llama.attention.head_count` / `head_count_kv` | num_attention_heads / num_key_value_heads |
/// | `llama.vocab_size` (else the embedding's rows) | vocab_size |
/// | `llama.rope.freq_base` (default 10 000) | rope_theta |
/// | `llama.attention.layer_norm_rms_epsilon` | rms_norm_eps |
/// | `llama.context_length` | max_position_embeddings |
/// | `llama.expert_count` / `expert_used_count` | num_local_experts / num_experts_per_tok |
/// | no `output.weight` tensor | tie_word_embeddings |
///
/// Anything that would change what the model computes and that btxpipe's Llama lacks (another
/// architecture, RoPE scaling, a head size other than C / H) is refused by name.
struct GGUFModelConfig {
    let reader: GGUFReader

    /// The architecture the metadata describes; `vocabRows` and `tied` come from the tensors.
    func architecture(vocabRows: Int, tied: Bool) throws -> ModelArchitecture {
        let arch = try string("general.architecture")
        guard arch == "llama" else {
            throw GGUFError.unsupported(file: reader.path, field: "metadata general.architecture",
                                        feature: "architecture \"\(arch)\" (btxpipe imports llama, dense and MoE)")
        }
        try refuseRoPEScaling()
        let hidden = try int("llama.embedding_length"), heads = try int("llama.attention.head_count")
        let experts = try optionalInt("llama.expert_count") ?? 0
        var width = try int("llama.feed_forward_length")
        if experts > 0, let expertWidth = try optionalInt("llama.expert_feed_forward_length") { width = expertWidth }
        if let vocab = try optionalInt("llama.vocab_size"), vocab != vocabRows {
            throw malformed("llama.vocab_size", "\(vocab) but token_embd.weight has \(vocabRows) rows")
        }
        for key in ["llama.rope.dimension_count", "llama.attention.key_length", "llama.attention.value_length"] {
            if let d = try optionalInt(key), heads > 0, d * heads != hidden {
                throw GGUFError.unsupported(file: reader.path, field: "metadata \(key)",
                                            feature: "head size \(d) with \(heads) heads of width \(hidden) (btxpipe's Llama uses C / H)")
            }
        }
        let llama: LlamaConfig
        do {
            llama = try LlamaConfig(
                hiddenSize: hidden, intermediateSize: width, numHiddenLayers: try int("llama.block_count"),
                numAttentionHeads: heads, numKeyValueHeads: try optionalInt("llama.attention.head_count_kv"),
                vocabSize: vocabRows, ropeTheta: try optionalDouble("llama.rope.freq_base") ?? 10_000,
                rmsNormEps: try optionalDouble("llama.attention.layer_norm_rms_epsilon") ?? 1e-5,
                maxPositionEmbeddings: try int("llama.context_length"), tieWordEmbeddings: tied)
        } catch let error as GGUFError { throw error } catch {
            throw malformed("llama.*", "does not make a valid Llama config: \(error)")
        }
        guard experts > 0 else { return ModelArchitecture(llama: llama) }
        do {
            let moe = try MoEConfig(numLocalExperts: experts, numExpertsPerTok: try int("llama.expert_used_count"))
            return ModelArchitecture(llama: llama, moe: moe)
        } catch let error as GGUFError { throw error } catch {
            throw malformed("llama.expert_count", "does not make a valid MoE config: \(error)")
        }
    }

    /// Linear or YaRN RoPE scaling would change every position's rotation: refused.
    private func refuseRoPEScaling() throws {
        guard let type = reader.metadata["llama.rope.scaling.type"]?.stringValue, type != "none" else { return }
        if type == "linear", try optionalDouble("llama.rope.scaling.factor") ?? 1 == 1 { return }
        throw GGUFError.unsupported(file: reader.path, field: "metadata llama.rope.scaling.type", feature: "RoPE scaling \"\(type)\"")
    }

    func malformed(_ key: String, _ problem: String) -> GGUFError {
        .malformed(file: reader.path, field: "metadata \(key)", problem: problem)
    }

    func string(_ key: String) throws -> String {
        guard let value = reader.metadata[key] else { throw malformed(key, "missing (expected a string)") }
        guard let s = value.stringValue else { throw malformed(key, "expected a string, found \(value.type)") }
        return s
    }

    func int(_ key: String) throws -> Int {
        guard let value = try optionalInt(key) else { throw malformed(key, "missing (expected an integer)") }
        return value
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let value = reader.metadata[key] else { return nil }
        guard let i = value.intValue else { throw malformed(key, "expected an integer, found \(value.type)") }
        return i
    }

    /// A float key; an f32 is read as the shortest decimal that round-trips it (1e-5, not
    /// 9.999999747378752e-06), which is the number the model's config.json said before conversion.
    func optionalDouble(_ key: String) throws -> Double? {
        guard let value = reader.metadata[key] else { return nil }
        if case let .float32(f) = value { return Double("\(f)") ?? Double(f) }
        guard let d = value.doubleValue else { throw malformed(key, "expected a float, found \(value.type)") }
        return d
    }
}
