import BTXTensor
import Foundation

/// How the next token is drawn from the logits.
public struct SamplingParameters: Codable, Equatable, Sendable {
    /// Softmax temperature; 0 means greedy (arg-max).
    public var temperature: Double = 1
    /// Keep only the `topK` most likely tokens; 0 keeps all.
    public var topK: Int = 0
    /// Keep the smallest set of most likely tokens whose probability reaches `topP` (nucleus).
    public var topP: Double = 1
    /// Seed of the sampling generator.
    public var seed: UInt64 = 0

    /// Greedy decoding by default; any field overridable.
    public init(temperature: Double = 0, topK: Int = 0, topP: Double = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    /// Throws naming the first field out of range.
    public func validate() throws {
        if !(temperature >= 0 && temperature.isFinite) {
            throw ModelError.invalidHyperparameter(field: "temperature", reason: "must be ≥ 0, got \(temperature)")
        }
        if topK < 0 { throw ModelError.invalidHyperparameter(field: "top_k", reason: "must be ≥ 0, got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw ModelError.invalidHyperparameter(field: "top_p", reason: "must be in (0, 1], got \(topP)") }
    }
}

/// Draws a token from one row of logits.
public enum Sampler {
    /// The token drawn from `logits[V]` under `parameters`, using `rng` (untouched when greedy).
    public static func sample(_ logits: UnsafeBufferPointer<Float>, _ parameters: SamplingParameters,
                              rng: inout SplitMix64) -> Int32 {
        let V = logits.count
        if parameters.temperature == 0 { return argmax(logits) }
        // Candidates by descending logit (ties: lower id first), cut to top-k.
        var order = Array(0..<V)
        order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        if parameters.topK > 0 && parameters.topK < V { order.removeLast(V - parameters.topK) }
        let inv = 1 / parameters.temperature, top = Double(logits[order[0]])
        var probs = order.map { Foundation.exp((Double(logits[$0]) - top) * inv) }
        let z = probs.reduce(0, +)
        probs = probs.map { $0 / z }
        // Nucleus: the smallest prefix whose mass reaches top-p.
        var keep = probs.count, mass = 0.0
        for (i, p) in probs.enumerated() {
            mass += p
            if mass >= parameters.topP { keep = i + 1; break }
        }
        let kept = probs[0..<keep].reduce(0, +)
        var u = rng.nextUniform() * kept
        for i in 0..<keep {
            u -= probs[i]
            if u < 0 { return Int32(order[i]) }
        }
        return Int32(order[keep - 1])
    }

    /// Index of the largest logit (the first one on ties).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return Int32(best)
    }
}
