import BTXData
import BTXModel
import BTXStore
import Foundation

/// Text generation from a model manifest (dense or MoE): loads the weights once, encodes the prompt
/// with the model's own tokenizer (`HFTokenizer`: every model in the store carries one), and streams
/// each new token as it is sampled.
public final class GenerationSession {
    /// The loaded weights.
    public let weights: ModelWeights
    /// Whether prompts can be text (the model has a usable `tokenizer.json`).
    public var hasTokenizer: Bool { tokenizer != nil }
    /// Why there is no tokenizer, when there is none.
    public let tokenizerProblem: String?
    let tokenizer: HFTokenizer?
    let encoder: TokenEncoder?
    let threads: Int

    /// Loads `manifest` from `store`.
    public init(_ manifest: Manifest, store: Store, threads: Int = 2) throws {
        // NOTE: the tokenizer (~0.3 s for SmolLM2's 49k tokens and merges, on one core) is parsed on a
        // thread of its own while the weights load: that load waits on reads and its sequential hash,
        // so the two overlap instead of adding up.
        let tokenizerLoad = BackgroundResult { try Self.loadTokenizer(manifest, store: store) }
        defer { _ = try? tokenizerLoad.value() }   // never leaves it reading a store its caller may delete
        weights = try ModelWeights(manifest, store: store)
        self.threads = threads
        (tokenizer, encoder, tokenizerProblem) = try tokenizerLoad.value()
        metadataEos = manifest.metadata["eos_token_id"]?.intValue.flatMap { Int32(exactly: $0) }
    }

    /// The model's tokenizer and its encoder, or why there is none (a missing or unusable tokenizer.json).
    private static func loadTokenizer(_ manifest: Manifest, store: Store) throws -> (HFTokenizer?, TokenEncoder?, String?) {
        do {
            guard let t = try HFTokenizerFile.tokenizer(manifest, store: store) else { return (nil, nil, "the model has no tokenizer.json") }
            return (t, t.makeEncoder(), nil)
        } catch let error as TokenizerError {
            return (nil, nil, "\(error)")
        }
    }

    private let metadataEos: Int32?

    /// The prompt's token ids (needs a tokenizer).
    public func encode(_ prompt: String) throws -> [Int32] {
        guard let encoder else { throw HFError.badRequest("cannot encode text: \(tokenizerProblem ?? "no tokenizer"); pass --prompt-ids") }
        let bos = tokenizer?.addsBos == true ? tokenizer?.bos.map { [$0] } ?? [] : []
        return (bos + encoder.encode(prompt)).map { Int32(bitPattern: $0) }
    }

    /// The bytes of one token (special tokens decode to nothing).
    public func bytes(of token: Int32) -> [UInt8] { tokenizer?.bytes(of: UInt32(bitPattern: token)) ?? [] }

    var stopTokens: Set<Int32> {
        if let eos = metadataEos ?? tokenizer?.eos.map({ Int32(bitPattern: $0) }) { return [eos] }
        return []
    }

    /// Generates up to `maxNewTokens` after `prompt`, calling `onToken` with each as it is drawn;
    /// stops after EOS (the model's `eos_token_id`, else its tokenizer's). Returns the new tokens.
    @discardableResult
    public func generate(prompt: [Int32], maxNewTokens: Int, temperature: Double, topK: Int, topP: Double, seed: UInt64,
                         onToken: (Int32) -> Void) throws -> [Int32] {
        let config = weights.architecture.llama
        let length = min(prompt.count + maxNewTokens, config.maxPositionEmbeddings)
        guard !prompt.isEmpty, prompt.count < length || maxNewTokens == 0 else {
            throw HFError.badRequest("prompt of \(prompt.count) tokens leaves no room in max_position_embeddings \(config.maxPositionEmbeddings)")
        }
        let generator = try TextGenerator(config: config, parameters: weights.parameters, maxLength: max(length, prompt.count),
                                          threads: threads, feedForward: weights.feedForward)
        let sampling = SamplingParameters(temperature: temperature, topK: topK, topP: topP, seed: seed)
        let all = try generator.generate(prompt: prompt, maxNewTokens: length - prompt.count, sampling: sampling,
                                         stopTokens: stopTokens) { onToken($0); return true }
        return Array(all.dropFirst(prompt.count))
    }
}
