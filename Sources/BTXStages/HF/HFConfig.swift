import BTXModel
import BTXStore
import Foundation

/// Hugging Face `config.json` for `LlamaForCausalLM` and `MixtralForCausalLM`: read with every
/// feature btxpipe does not implement refused by name, and written so that transformers loads it.
public enum HFConfig {
    /// The architectures btxpipe reads and writes.
    static let architectures = ["LlamaForCausalLM": "llama", "MixtralForCausalLM": "mixtral"]
    /// HF's `torch_dtype` names.
    static let dtypeNames: [ElementType: String] = [.f32: "float32", .bf16: "bfloat16", .f16: "float16"]

    /// The architecture described by `config.json` (its text `data`; `file` names it in errors),
    /// and the checkpoint's declared dtype when it names one.
    public static func read(_ data: Data, file: String) throws -> (architecture: ModelArchitecture, dtype: ElementType?) {
        func bad(_ field: String, _ expected: String) -> HFError { .badConfig(file: file, field: field, expected: expected) }
        guard let json = try? JSONValue.parse(data), var fields = json.objectValue else { throw bad("(top level)", "a JSON object") }
        let modelType = try checkArchitecture(fields, file: file)
        try refuseUnsupported(fields, file: file)
        if let rope = fields["rope_parameters"]?.objectValue, let theta = rope["rope_theta"] { fields["rope_theta"] = theta }
        fields = fields.filter { $0.value != .null }
        let llama: LlamaConfig
        do { llama = try JSONValue.object(fields).decode(LlamaConfig.self) } catch let error as ModelError {
            throw HFError.badConfig(file: file, field: "\(error)", expected: "a valid Llama config")
        } catch let DecodingError.keyNotFound(key, _) {
            throw bad(key.stringValue, "a value (the key is missing)")
        } catch let DecodingError.typeMismatch(type, context) {
            throw bad(context.codingPath.map(\.stringValue).joined(separator: "."), "a \(type)")
        } catch {
            throw bad("(decoding)", "\(error)")
        }
        if let headDim = fields["head_dim"]?.intValue, headDim != llama.headSize {
            throw HFError.unsupported(file: file, feature: "head_dim \(headDim) ≠ hidden_size / num_attention_heads = \(llama.headSize)")
        }
        var dtype: ElementType?
        if let name = (fields["torch_dtype"] ?? fields["dtype"])?.stringValue {
            dtype = dtypeNames.first { $0.value == name }?.key
        }
        guard modelType == "mixtral" else { return (ModelArchitecture(llama: llama), dtype) }
        guard let count = fields["num_local_experts"]?.intValue else { throw bad("num_local_experts", "a positive integer") }
        let topK = fields["num_experts_per_tok"]?.intValue ?? 2
        let alpha = fields["router_aux_loss_coef"]?.doubleValue ?? 0.001  // transformers' MixtralConfig default
        do {
            let moe = try MoEConfig(numLocalExperts: count, numExpertsPerTok: topK, routerAuxLossCoef: alpha)
            return (ModelArchitecture(llama: llama, moe: moe), dtype)
        } catch let error as ModelError {
            throw HFError.badConfig(file: file, field: "\(error)", expected: "a valid Mixtral config")
        }
    }

    /// The model type ("llama" or "mixtral") after checking `architectures` and `model_type` agree.
    static func checkArchitecture(_ fields: [String: JSONValue], file: String) throws -> String {
        let names = fields["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let modelType = fields["model_type"]?.stringValue
        if let name = names.first {
            guard names.count == 1, let type = architectures[name] else {
                throw HFError.unsupported(file: file, feature: "architectures \(names) (btxpipe reads LlamaForCausalLM and MixtralForCausalLM)")
            }
            guard modelType == nil || modelType == type else {
                throw HFError.badConfig(file: file, field: "model_type", expected: "\"\(type)\" for \(name), got \"\(modelType!)\"")
            }
            return type
        }
        guard let modelType, architectures.values.contains(modelType) else {
            throw HFError.unsupported(file: file, feature: "model_type \(modelType.map { "\"\($0)\"" } ?? "missing") (btxpipe reads \"llama\" and \"mixtral\")")
        }
        return modelType
    }

    /// Throws for every config feature that would change the computation in a way btxpipe does not.
    static func refuseUnsupported(_ f: [String: JSONValue], file: String) throws {
        func refuse(_ feature: String) -> HFError { .unsupported(file: file, feature: feature) }
        if f["attention_bias"]?.boolValue == true { throw refuse("attention_bias true (q/k/v/o biases)") }
        if f["mlp_bias"]?.boolValue == true { throw refuse("mlp_bias true (feed-forward biases)") }
        if let act = f["hidden_act"]?.stringValue, act != "silu" { throw refuse("hidden_act \"\(act)\" (only silu/SwiGLU)") }
        for key in ["rope_scaling", "rope_parameters"] {
            guard let rope = f[key], rope != .null else { continue }
            let type = rope["rope_type"]?.stringValue ?? rope["type"]?.stringValue ?? "default"
            if type != "default" { throw refuse("\(key) type \"\(type)\" (only plain RoPE)") }
            if let factor = rope["partial_rotary_factor"]?.doubleValue, factor != 1 { throw refuse("\(key) partial_rotary_factor \(factor)") }
        }
        if let window = f["sliding_window"]?.intValue, window < (f["max_position_embeddings"]?.intValue ?? Int.max) {
            throw refuse("sliding_window \(window) shorter than max_position_embeddings (btxpipe attends to every earlier position)")
        }
        if let tp = f["pretraining_tp"]?.intValue, tp < 1 { throw refuse("pretraining_tp \(tp)") }
    }

    /// `config.json` for `architecture` with weights in `dtype`; `bos`/`eos` from the tokenizer.
    public static func write(_ architecture: ModelArchitecture, dtype: ElementType, bos: Int?, eos: Int?) throws -> Data {
        guard case .object(var fields) = try JSONValue(encoding: architecture.llama) else { throw HFError.notAModel("config does not encode") }
        let c = architecture.llama
        fields["architectures"] = [architecture.moe == nil ? "LlamaForCausalLM" : "MixtralForCausalLM"]
        fields["model_type"] = architecture.moe == nil ? "llama" : "mixtral"
        fields["head_dim"] = .int(Int64(c.headSize))
        fields["hidden_act"] = "silu"
        fields["rope_scaling"] = .null
        fields["rope_parameters"] = ["rope_type": "default", "rope_theta": .double(c.ropeTheta)]
        fields["torch_dtype"] = .string(dtypeNames[dtype] ?? "float32")
        fields["initializer_range"] = 0.02
        fields["use_cache"] = true
        if let bos { fields["bos_token_id"] = .int(Int64(bos)) }
        if let eos { fields["eos_token_id"] = .int(Int64(eos)) }
        if let moe = architecture.moe {
            fields["num_local_experts"] = .int(Int64(moe.numLocalExperts))
            fields["num_experts_per_tok"] = .int(Int64(moe.numExpertsPerTok))
            fields["router_aux_loss_coef"] = .double(moe.routerAuxLossCoef)
            fields["output_router_logits"] = false
            fields["sliding_window"] = .null
        } else {
            fields["attention_bias"] = false
            fields["mlp_bias"] = false
            fields["pretraining_tp"] = 1
        }
        return Data(JSONValue.object(fields).canonicalText.utf8)
    }
}
