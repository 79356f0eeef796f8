import BTXModel
import BTXTensor

/// Tiny models for fast tests: every dimension small, grouped-query attention on, and C, I, V not
/// multiples of 8 where possible so that the kernels' scalar tails run too.
enum TinyModel {
    static func config(tied: Bool = false, layers: Int = 2, vocab: Int = 13) -> LlamaConfig {
        try! LlamaConfig(hiddenSize: 12, intermediateSize: 20, numHiddenLayers: layers, numAttentionHeads: 2,
                         numKeyValueHeads: 1, vocabSize: vocab, ropeTheta: 10_000, rmsNormEps: 1e-5,
                         maxPositionEmbeddings: 32, tieWordEmbeddings: tied)
    }

    static func parameters(_ c: LlamaConfig, seed: UInt64 = 1, std: Float = 0.02) -> ParameterSet {
        let p = ParameterSet(layout: LlamaParameters.layout(c))
        LlamaParameters.initialize(p, seed: seed, std: std)
        return p
    }

    /// `B` rows of `T + 1` pseudo-random tokens.
    static func tokens(B: Int, T: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var rng = SplitMix64(seed: seed)
        return (0..<B * (T + 1)).map { _ in Int32(rng.next() % UInt64(vocab)) }
    }
}
