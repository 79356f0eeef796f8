import BTXTensor
import Foundation

/// The mixture-of-experts part of a Mixtral-style config: Mixtral's own keys
/// (`num_local_experts`, `num_experts_per_tok`, `router_aux_loss_coef`) plus btxpipe's routing
/// options. The rest of the architecture is a `LlamaConfig` whose `intermediate_size` is each
/// expert's width.
public struct MoEConfig: Codable, Equatable, Sendable {
    /// E: experts per layer.
    public var numLocalExperts: Int
    /// k of top-k routing (BTX and Mixtral use 2).
    public var numExpertsPerTok: Int = 2
    /// α of the load-balancing loss (0.01 in BTX; 0 disables it).
    public var routerAuxLossCoef: Double = 0.01
    /// How tokens are routed (top-k by default, as in BTX).
    public var routing: RoutingKind = .topK
    /// Switch top-1: each expert takes at most ⌈factor · N / E⌉ tokens of a batch (Switch uses 1–2).
    public var capacityFactor: Double = 1.5
    /// Sample top-1: Gumbel temperature τ = max(`gumbelMinTemperature`, exp(−r · step)) (Jang et al. 2017).
    public var gumbelAnnealRate: Double = 1e-4
    /// The floor of that schedule (0.5 in Jang et al. and BTX).
    public var gumbelMinTemperature: Double = 0.5

    enum CodingKeys: String, CodingKey {
        case numLocalExperts = "num_local_experts"
        case numExpertsPerTok = "num_experts_per_tok"
        case routerAuxLossCoef = "router_aux_loss_coef"
        case routing = "routing"
        case capacityFactor = "capacity_factor"
        case gumbelAnnealRate = "gumbel_anneal_rate"
        case gumbelMinTemperature = "gumbel_min_temperature"
    }

    /// A validated config.
    public init(numLocalExperts: Int, numExpertsPerTok: Int = 2, routerAuxLossCoef: Double = 0.01,
                routing: RoutingKind = .topK, capacityFactor: Double = 1.5, gumbelAnnealRate: Double = 1e-4,
                gumbelMinTemperature: Double = 0.5) throws {
        self.numLocalExperts = numLocalExperts
        self.numExpertsPerTok = numExpertsPerTok
        self.routerAuxLossCoef = routerAuxLossCoef
        self.routing = routing
        self.capacityFactor = capacityFactor
        self.gumbelAnnealRate = gumbelAnnealRate
        self.gumbelMinTemperature = gumbelMinTemperature
        try validate()
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        numLocalExperts = try c.decode(Int.self, forKey: .numLocalExperts)
        numExpertsPerTok = try c.decodeIfPresent(Int.self, forKey: .numExpertsPerTok) ?? 2
        routerAuxLossCoef = try c.decodeIfPresent(Double.self, forKey: .routerAuxLossCoef) ?? 0.01
        if let name = try c.decodeIfPresent(String.self, forKey: .routing) {
            guard let kind = RoutingKind(rawValue: name) else {
                throw ModelError.invalidConfig(field: "routing", reason: "unknown routing '\(name)' (expected one of "
                    + RoutingKind.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            routing = kind
        }
        capacityFactor = try c.decodeIfPresent(Double.self, forKey: .capacityFactor) ?? 1.5
        gumbelAnnealRate = try c.decodeIfPresent(Double.self, forKey: .gumbelAnnealRate) ?? 1e-4
        gumbelMinTemperature = try c.decodeIfPresent(Double.self, forKey: .gumbelMinTemperature) ?? 0.5
        try validate()
    }

    /// Throws `ModelError.invalidConfig` naming the first field out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ key: CodingKeys, _ reason: String) throws {
            if !ok { throw ModelError.invalidConfig(field: key.rawValue, reason: reason) }
        }
        try check(numLocalExperts >= 1 && numLocalExperts <= 1024, .numLocalExperts,
                  "must be in 1...1024, got \(numLocalExperts)")
        try check(numExpertsPerTok >= 1 && numExpertsPerTok <= numLocalExperts, .numExpertsPerTok,
                  "must be in 1...num_local_experts (\(numLocalExperts)), got \(numExpertsPerTok)")
        try check(routerAuxLossCoef >= 0 && routerAuxLossCoef.isFinite, .routerAuxLossCoef,
                  "must be ≥ 0, got \(routerAuxLossCoef)")
        try check(capacityFactor > 0 && capacityFactor.isFinite, .capacityFactor, "must be > 0, got \(capacityFactor)")
        try check(gumbelAnnealRate >= 0 && gumbelAnnealRate.isFinite, .gumbelAnnealRate,
                  "must be ≥ 0, got \(gumbelAnnealRate)")
        try check(gumbelMinTemperature > 0 && gumbelMinTemperature <= 1, .gumbelMinTemperature,
                  "must be in (0, 1], got \(gumbelMinTemperature)")
    }

    /// Slots per token in layer `layer` (sample-top-1 keeps the first layer soft, as BTX does).
    public func slots(layer: Int) -> Int {
        routingSlots(kind(layer: layer), k: numExpertsPerTok, E: numLocalExperts)
    }

    /// The routing used in layer `layer`: the configured one, except a soft first layer with
    /// sample-top-1 (BTX §4.4: hard sampling in the first layer hurt).
    public func kind(layer: Int) -> RoutingKind {
        routing == .sampleTop1 && layer == 0 ? .soft : routing
    }

    /// Gumbel temperature after `step` optimizer steps.
    public func temperature(step: Int) -> Float {
        Float(max(gumbelMinTemperature, Foundation.exp(-gumbelAnnealRate * Double(step))))
    }

    /// Most tokens one expert takes from a batch of `N` (unbounded except for Switch top-1).
    public func capacity(rows N: Int, layer: Int) -> Int {
        kind(layer: layer) == .switchTop1 ? Int((capacityFactor * Double(N) / Double(numLocalExperts)).rounded(.up)) : N
    }
}
