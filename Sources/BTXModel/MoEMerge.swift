import BTXTensor

/// The MiX step of BTX (§2.2) on in-memory parameters: dense expert models → one mixture of
/// experts. Each expert's feed-forward block becomes that expert's `block_sparse_moe.experts.M`;
/// every other tensor is the (weighted) average of the experts' copies; a router per layer is added.
///
/// The `mix` stage does the same on manifests, where expert tensors are taken *by reference* (same
/// store object): `expertSource` tells it where each expert tensor comes from.
public enum MoEMerge {
    /// How the routers start.
    public enum RouterInit: Equatable, Sendable {
        /// normal(0, std) from a seeded generator, layer by layer in layout order.
        case random(std: Float, seed: UInt64)
        /// All zeros: uniform routing at first (ties broken towards lower expert indices).
        case zero
        /// Row e of layer l = `states[l][e]`, the mean hidden state (input of layer l's
        /// feed-forward) of expert e's domain sample (as mergekit-moe's hidden-state gates).
        case hidden(states: [[[Float]]])

        /// The generator `initializeRouter` draws from (seeded for `.random`).
        public var generator: SplitMix64 {
            if case let .random(_, seed) = self { return SplitMix64(seed: seed) }
            return SplitMix64(seed: 0)
        }
    }

    /// Where MoE tensor `name` comes from when mixed from `experts` dense models: (expert index, its
    /// dense tensor name), or nil for tensors that are averaged or new (the routers).
    public static func expertSource(_ name: String, experts: Int) -> (expert: Int, name: String)? {
        // model.layers.L.block_sparse_moe.experts.M.wX.weight
        let parts = name.split(separator: ".")
        guard parts.count == 8, parts[0] == "model", parts[1] == "layers", parts[3] == "block_sparse_moe",
              parts[4] == "experts", let l = Int(parts[2]), let e = Int(parts[5]), e < experts,
              let dense = MoEParameters.denseName[String(parts[6])] else { return nil }
        return (e, LlamaParameters.name(l, dense))
    }

    /// Throws `ModelError.shapeMismatch`/`.missingParameter` naming the first tensor (in the first
    /// model's layout order) where `models` differ from the dense architecture `config`.
    public static func checkSameArchitecture(_ models: [ParameterSet], config c: LlamaConfig) throws {
        for e in LlamaParameters.layout(c) {
            for m in models {
                guard let got = m.entry(e.name) else { throw ModelError.missingParameter(e.name) }
                if got.shape != e.shape { throw ModelError.shapeMismatch(name: e.name, expected: e.shape, actual: got.shape) }
            }
        }
    }

    /// Normalised averaging weights: uniform when nil; throws unless one non-negative finite weight
    /// per expert with a positive sum.
    public static func normalizedWeights(_ weights: [Double]?, count: Int) throws -> [Double] {
        guard let weights else { return [Double](repeating: 1 / Double(count), count: count) }
        let sum = weights.reduce(0, +)
        guard weights.count == count, weights.allSatisfy({ $0 >= 0 && $0.isFinite }), sum > 0 else {
            throw ModelError.invalidConfig(field: "weights", reason: "need \(count) non-negative weights with a positive sum, got \(weights)")
        }
        return weights.map { $0 / sum }
    }

    /// `Σ_m w_m · x_m` element-wise into `out`, accumulated in double in expert order (bitwise reproducible).
    public static func average(_ tensors: [UnsafePointer<Float>], weights: [Double], count: Int,
                               into out: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            var s = 0.0
            for (m, t) in tensors.enumerated() { s += weights[m] * Double(t[i]) }
            out[i] = Float(s)
        }
    }

    /// `Σ_m w_m · x_m` of equally long arrays.
    public static func average(_ arrays: [[Float]], weights: [Double]) -> [Float] {
        var out = [Float](repeating: 0, count: arrays.first?.count ?? 0)
        for i in out.indices {
            var s = 0.0
            for (m, a) in arrays.enumerated() { s += weights[m] * Double(a[i]) }
            out[i] = Float(s)
        }
        return out
    }

    /// The uniform mean of several `[L][C]` hidden-state tables.
    public static func averageStates(_ tables: [[[Float]]]) -> [[Float]] {
        let w = [Double](repeating: 1 / Double(tables.count), count: tables.count)
        return (0..<(tables.first?.count ?? 0)).map { l in average(tables.map { $0[l] }, weights: w) }
    }

    /// Chunk `part` of `of` of a row-major `[rows, columns]` matrix: a block of rows, or with
    /// `alongColumns` a block of columns (the `split` ablation: `w1`/`w3` by rows, `w2` by columns).
    public static func chunk(_ values: [Float], rows: Int, columns: Int, part: Int, of parts: Int,
                             alongColumns: Bool) -> [Float] {
        precondition(values.count == rows * columns && (alongColumns ? columns : rows) % parts == 0, "chunking a misshapen matrix")
        if !alongColumns {
            let n = rows / parts
            return Array(values[(part * n * columns)..<((part + 1) * n * columns)])
        }
        let n = columns / parts
        // NOTE: a plain loop: the equivalent flatMap times out the type checker on a loaded machine.
        var out: [Float] = []
        out.reserveCapacity(rows * n)
        for r in 0..<rows {
            let start = r * columns + part * n
            out += values[start..<(start + n)]
        }
        return out
    }

    /// Concatenation along the intermediate dimension of row-major `parts`: with `alongColumns` each is
    /// `[rows, columns_i]` and the column blocks are joined row by row (`w2`); otherwise each is
    /// `[rows_i, columns]` and they are stacked (`w1`/`w3`; `rows` is unused).
    public static func concatenate(_ parts: [[Float]], rows: Int, alongColumns: Bool) -> [Float] {
        if !alongColumns { return parts.flatMap { $0 } }
        var out: [Float] = []
        out.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for r in 0..<rows {
            for part in parts {
                let n = part.count / rows
                out += part[(r * n)..<((r + 1) * n)]
            }
        }
        return out
    }

    /// Fills a router `[E, C]` from `initialization` for layer `l` (`rng` advances for `.random`).
    public static func initializeRouter(_ out: UnsafeMutablePointer<Float>, layer l: Int, E: Int, C: Int,
                                        _ initialization: RouterInit, rng: inout SplitMix64) throws {
        switch initialization {
        case let .random(std, _):
            for i in 0..<E * C { out[i] = std * Float(rng.nextNormal()) }
        case .zero:
            out.update(repeating: 0, count: E * C)
        case let .hidden(states):
            guard states.count > l, states[l].count == E, states[l].allSatisfy({ $0.count == C }) else {
                throw ModelError.invalidConfig(field: "router_init", reason: "hidden states must be [layers][\(E)][\(C)] (missing layer \(l) or wrong size)")
            }
            for e in 0..<E { (out + e * C).update(from: states[l][e], count: C) }
        }
    }

    /// The mixture of `experts` (dense models of architecture `config`, already trained on their
    /// domains; the seed may be one of them): an MoE `ParameterSet` laid out by
    /// `MoEParameters.layout(config, moe)` with `moe.numLocalExperts == experts.count`.
    public static func mix(experts: [ParameterSet], config c: LlamaConfig, moe: MoEConfig, weights: [Double]? = nil,
                           router: RouterInit) throws -> ParameterSet {
        guard !experts.isEmpty, moe.numLocalExperts == experts.count else {
            throw ModelError.invalidConfig(field: "num_local_experts", reason: "\(moe.numLocalExperts) experts configured, \(experts.count) models given")
        }
        try checkSameArchitecture(experts, config: c)
        let w = try normalizedWeights(weights, count: experts.count)
        let out = ParameterSet(layout: MoEParameters.layout(c, moe))
        var rng = router.generator
        for e in out.entries {
            let dst = out.storage + e.offset
            if let source = expertSource(e.name, experts: experts.count) {
                dst.update(from: experts[source.expert].pointer(source.name), count: e.count)
            } else if e.name.hasSuffix("block_sparse_moe.gate.weight") {
                let l = Int(e.name.split(separator: ".")[2])!
                try initializeRouter(dst, layer: l, E: experts.count, C: c.hiddenSize, router, rng: &rng)
            } else {
                average(experts.map { UnsafePointer($0.pointer(e.name)) }, weights: w, count: e.count, into: dst)
            }
        }
        return out
    }
}
