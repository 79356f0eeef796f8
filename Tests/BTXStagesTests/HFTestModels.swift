import BTXModel
@testable import BTXStages
import BTXStore
import BTXTensor
import Foundation

/// Models built in tests from the fixtures.
enum HFTestModels {
    /// A BTX-style MoE from a dense model manifest: every layer's FFN copied into `experts` experts,
    /// each perturbed by seeded noise of scale `perturbation` (as if trained on its own domain), and a
    /// seeded random router; everything else shared by reference.
    static func upcycle(_ dense: Manifest, experts E: Int, topK: Int, perturbation: Float, routing: String = "top_k",
                        store: Store) throws -> Manifest {
        var architecture = try ModelArchitecture(metadata: dense.metadata)
        architecture.experts = .init(count: E, topK: topK, auxLossCoefficient: 0.01, routing: routing)
        var out = Manifest(kind: "model", tensors: dense.tensors, objects: dense.objects, metadata: try architecture.metadata())
        var rng = SplitMix64(seed: 7)
        let C = architecture.llama.hiddenSize
        for l in 0..<architecture.llama.numHiddenLayers {
            for (w, suffix) in [("w1", "gate_proj"), ("w2", "down_proj"), ("w3", "up_proj")] {
                let name = LlamaParameters.name(l, "mlp.\(suffix).weight")
                let entry = dense.tensors[name]!
                out.tensors[name] = nil
                for e in 0..<E {
                    let values = try store.floats(entry).map { $0 + perturbation * Float(rng.nextNormal()) }
                    out.tensors[MixtralNames.expert(l, e, w)] = try store.putTensor(values, shape: entry.shape)
                }
            }
            let router = (0..<(E * C)).map { _ in 0.5 * Float(rng.nextNormal()) }
            out.tensors[MixtralNames.gate(l)] = try store.putTensor(router, shape: [E, C])
        }
        return out
    }
}
