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
        weights = try ModelWeights(manifest, store: store)
        self.threads = threads
        guard let object = manifest.objects["tokenizer.json"] else {
            (tokenizer, encoder, tokenizerProblem) = (nil, nil, "the model has no tokenizer.json")
            return
        }
        do {
            let t = try HFTokenizerFile.tokenizer(manifest, store: store)!  // tokenizer.json is there (guard above)
            (tokenizer, encoder, tokenizerProblem) = (t, t.makeEncoder(), nil)
        } catch let error as TokenizerError {
            (tokenizer, encoder, tokenizerProblem) = (nil, nil, "\(error)")
        }
        eosOverride = manifest.metadata["eos_token_id"]?.intValue.flatMap { Int32(exactly: $0) }
    }

    private var eosOverride: Int32?

    /// The prompt's token ids (needs a tokenizer).
    public func encode(_ prompt: String) throws -> [Int32] {
        guard let encoder else { throw HFError.badRequest("cannot encode text: \(tokenizerProblem ?? "no tokenizer"); pass --prompt-ids") }
        let bos = tokenizer?.addsBos == true ? tokenizer?.bos.map { [$0] } ?? [] : []
        return (bos + encoder.encode(prompt)).map { Int32(bitPattern: $0) }
    }

    /// The bytes of one token (special tokens decode to nothing).
    public func bytes(of token: Int32) -> [UInt8] { tokenizer?.bytes(of: UInt32(bitPattern: token)) ?? [] }

    var stopTokens: Set<Int32> {
        if let eos = eosOverride ?? tokenizer?.eos.map({ Int32(bitPattern: $0) }) { return [eos] }
        return []
    }

    /// Generates up to `maxNewTokens` after `prompt`, calling `onToken` with each as it is drawn;
    /// stops after the tokenizer's EOS. Returns the new tokens.
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
