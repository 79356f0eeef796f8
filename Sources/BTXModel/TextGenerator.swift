import BTXTensor

/// Autoregressive generation with a KV cache: the prompt is run once, then each new token runs
/// only its own row against the cached keys and values of all earlier positions.
public final class TextGenerator {
    /// An inference-only model with batch 1 whose per-block `k`/`v` buffers are the cache.
    public let model: LlamaModel

    /// A generator for contexts of up to `maxLength` tokens (prompt + generated).
    public init(config: LlamaConfig, parameters: ParameterSet, maxLength: Int, threads: Int = 2,
                feedForward: FeedForwardFactory? = nil) throws {
        model = try LlamaModel(config: config, parameters: parameters, batchSize: 1, sequenceLength: maxLength,
                               training: false, threads: threads, feedForward: feedForward)
    }

    /// `prompt` followed by up to `maxNewTokens` generated tokens; stops early after a token in
    /// `stopTokens` (included) or when `onToken` returns false.
    public func generate(prompt: [Int32], maxNewTokens: Int, sampling: SamplingParameters = .init(),
                         stopTokens: Set<Int32> = [], onToken: (Int32) -> Bool = { _ in true }) throws -> [Int32] {
        try sampling.validate()
        guard !prompt.isEmpty, maxNewTokens >= 0, prompt.count + maxNewTokens <= model.sequenceLength else {
            throw ModelError.badInput("prompt of \(prompt.count) + \(maxNewTokens) new tokens does not fit a context of \(model.sequenceLength)")
        }
        var rng = SplitMix64(seed: sampling.seed)
        var tokens = prompt
        try model.forward(appending: prompt, at: 0, lastLogitsOnly: true)
        for _ in 0..<maxNewTokens {
            let V = model.config.vocabSize, all = model.logits
            let last = UnsafeBufferPointer(rebasing: all[(all.count - V)...])
            let next = Sampler.sample(last, sampling, rng: &rng)
            tokens.append(next)
            if stopTokens.contains(next) || !onToken(next) || tokens.count == model.sequenceLength { break }
            try model.forward(appending: [next], at: tokens.count - 1)
        }
        return tokens
    }
}
