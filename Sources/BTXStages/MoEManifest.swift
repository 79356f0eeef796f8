import BTXModel
import BTXPipeline
import BTXStore
import BTXTensor
import Foundation

/// Mixture-of-experts models as "model" manifests: the config object is the Llama config plus the
/// Mixtral keys (`num_local_experts`, `num_experts_per_tok`, `router_aux_loss_coef`) and btxpipe's
/// routing keys (`MoEConfig`), with `model_type` "mixtral"; tensors use the Mixtral names.
enum MoEManifest {
    /// The MoE part of a model config, or nil for a dense model (no `num_local_experts`).
    static func moeConfig(_ config: JSONValue, input: String) throws -> MoEConfig? {
        guard config["num_local_experts"] != nil else { return nil }
        do { return try config.decode(MoEConfig.self) } catch {
            throw StageError.failed("input '\(input)': bad mixture-of-experts config: \(error)")
        }
    }

    /// The config object of an MoE model: `llama` (a dense config object) with the MoE keys of `moe`
    /// and `intermediate_size` set to the experts' width.
    static func configJSON(llama: JSONValue, moe: MoEConfig, expertWidth: Int) throws -> JSONValue {
        var object = llama.objectValue ?? [:]
        for (key, value) in try JSONValue(encoding: moe).objectValue ?? [:] { object[key] = value }
        object["intermediate_size"] = .int(Int64(expertWidth))
        object["model_type"] = "mixtral"
        return .object(object)
    }

    /// The routing parameters a stage accepts (`routing`, `num_experts_per_tok`,
    /// `router_aux_loss_coef`, `capacity_factor`, `gumbel_anneal_rate`), each defaulting to `base`'s
    /// value, as an `MoEConfig` with `experts` experts. Call from `validate` (with any count) and `run`.
    static func routing(_ p: StageParams, experts: Int, base: MoEConfig? = nil) throws -> MoEConfig {
        let kinds = RoutingKind.allCases.map(\.rawValue)
        let kind = try p.string("routing", default: (base?.routing ?? .topK).rawValue, oneOf: kinds)
        let k = try p.int("num_experts_per_tok", default: base?.numExpertsPerTok ?? 2, in: 1...1024)
        let alpha = try p.double("router_aux_loss_coef", default: base?.routerAuxLossCoef ?? 0.01, in: 0...100)
        let capacity = try p.double("capacity_factor", default: base?.capacityFactor ?? 1.5, in: 0.01...1000)
        let rate = try p.double("gumbel_anneal_rate", default: base?.gumbelAnnealRate ?? 1e-4, in: 0...10)
        do {
            return try MoEConfig(numLocalExperts: experts, numExpertsPerTok: k, routerAuxLossCoef: alpha,
                                 routing: RoutingKind(rawValue: kind) ?? .topK, capacityFactor: capacity,
                                 gumbelAnnealRate: rate)
        } catch {
            throw StageError.badParameter(field: "num_experts_per_tok", expected: "at most \(experts) (the experts)", actual: "\(k)")
        }
    }
}
