import BTXData
import BTXModel
import BTXStore
import Foundation

/// Text generation from a model manifest (dense or MoE): loads the weights once, encodes the prompt
/// with the model's own `tokenizer.json` when it has one in btxpipe's layout, and streams each new
/// token as it is sampled.
public final class GenerationSession {
    /// The loaded weights.
    public let weights: ModelWeights
    /// Whether prompts can be text (the model has a usable `tokenizer.json`).
    public var hasTokenizer: Bool { tokenizer != nil }
    /// Why there is no tokenizer, when there is none.
    public let tokenizerProblem: String?
    let tokenizer: Tokenizer?
    let threads: Int

    /// btxpipe's own tokenizer (exactly what training used) or any other byte-level BPE file.
    enum Tokenizer {
        case btxpipe(BPETokenizer)
        case huggingFace(HFByteLevelTokenizer, eos: Int32?)
    }

    /// Loads `manifest` from `store`.
    public init(_ manifest: Manifest, store: Store, threads: Int = 2) throws {
        weights = try ModelWeights(manifest, store: store)
        self.threads = threads
        guard let object = manifest.objects["tokenizer.json"] else {
            tokenizer = nil
            tokenizerProblem = "the model has no tokenizer.json"
            return
        }
        switch try HFTokenizerFile.tokenizer(object, store: store) {
        case .success(let t):
            tokenizer = .btxpipe(t)
        case .failure:
            let eos = manifest.metadata["eos_token_id"]?.intValue.flatMap { Int32(exactly: $0) }
            tokenizer = .huggingFace(try HFByteLevelTokenizer(json: try store.object(object)), eos: eos)
        }
        tokenizerProblem = nil
    }

    /// The prompt's token ids (needs a tokenizer).
    public func encode(_ prompt: String) throws -> [Int32] {
        switch tokenizer {
        case .btxpipe(let t)?: return BPEEncoder(t).encode(Data(prompt.utf8)).map { Int32($0) }
        case .huggingFace(let t, _)?: return t.encode(prompt)
        case nil: throw HFError.badRequest("cannot encode text: \(tokenizerProblem ?? "no tokenizer"); pass --prompt-ids")
        }
    }

    /// The bytes of one token (specials of btxpipe's tokenizer decode to nothing).
    public func bytes(of token: Int32) -> [UInt8] {
        switch tokenizer {
        case .btxpipe(let t)?: return Int(token) < 256 + t.merges.count ? t.bytes(of: UInt32(token)) : []
        case .huggingFace(let t, _)?: return t.bytes(of: token)
        case nil: return []
        }
    }

    var stopTokens: Set<Int32> {
        switch tokenizer {
        case .btxpipe(let t)?: return [Int32(t.eos)]
        case .huggingFace(_, let eos?)?: return [eos]
        default: return []
        }
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
