import BTXStore
import Foundation

/// A tokenizer loaded from a Hugging Face `tokenizer.json`: the one tokenizer abstraction of btxpipe
/// (its own BPE, imported HF models, GGUF vocabularies converted to tokenizer.json).
///
/// Supported: BPE models, byte-level (GPT-2, Llama 3, Qwen2, SmolLM2 pre-tokenizers) or
/// SentencePiece style with byte fallback (Llama 2, Mistral, TinyLlama: legacy Prepend/Replace
/// normalizer or Metaspace pre-tokenizer). Token ids equal those of the `tokenizers` package
/// (`encode(text, add_special_tokens=False)`), proven on the default corpora by the reference tests.
/// Anything else is refused by name (`TokenizerError.unsupported`), never approximated.
/// btxpipe's own tokenizer.json is recognised and encoded by the faster `BPEEncoder`.
public final class HFTokenizer: @unchecked Sendable {
    let normalizer: NormalizerSpec?
    let preTokenizer: PreTokenizerSpec?
    let model: BPEModel
    let added: AddedTokens
    let decoderStripsLeadingSpace: Bool
    /// btxpipe's own tokenizer when the file is one (same ids, faster encoder).
    public let btxpipe: BPETokenizer?
    /// Number of ids (largest id of the vocab and the added tokens, plus one).
    public let vocabSize: Int
    /// Beginning-of-sequence id, when known.
    public let bos: UInt32?
    /// End-of-sequence id (the document separator of token data), when known.
    public let eos: UInt32?
    /// Whether `tokenizers` puts BOS first when asked to add special tokens (its post-processor's
    /// template starts with BOS: Llama 2, Llama 3), as a prompt for generation should.
    public let addsBos: Bool

    /// Parses `json` (a tokenizer.json); `config` (a tokenizer_config.json) names BOS/EOS when given,
    /// otherwise the usual special tokens (`<s>`, `</s>`, `<|endoftext|>`, …) are looked up.
    public init(json data: Data, config: Data? = nil) throws {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw TokenizerError.badTokenizerJSON(field: "(top level)", expected: "a JSON object")
        }
        guard json.objectValue != nil else { throw TokenizerError.badTokenizerJSON(field: "(top level)", expected: "a JSON object") }
        guard let modelJSON = json["model"], modelJSON.objectValue != nil else {
            throw TokenizerError.badTokenizerJSON(field: "model", expected: "an object")
        }
        if let t = json["truncation"], t != .null { throw TokenizerError.unsupported(field: "truncation", value: t.canonicalText) }
        normalizer = try NormalizerSpec.parse(json["normalizer"])
        preTokenizer = try PreTokenizerSpec.parse(json["pre_tokenizer"])
        decoderStripsLeadingSpace = try Self.checkDecoder(json["decoder"])
        model = try BPEModel(modelJSON, byteLevel: preTokenizer?.isByteLevel ?? false)
        added = try AddedTokens(json["added_tokens"])
        vocabSize = Int(max(model.maxId, added.all.map(\.id).max() ?? 0)) + 1
        let names = try Self.specialNames(config)
        let bosId = Self.specialId(names.bos ?? ["<s>", "<|begin_of_text|>", "<|bos|>", "<bos>", "<|endoftext|>"], added: added, model: model)
        bos = bosId
        eos = Self.specialId(names.eos ?? ["</s>", "<|end_of_text|>", "<|eos|>", "<eos>", "<|endoftext|>", "<|im_end|>"], added: added, model: model)
        let first = json["post_processor"]?["single"]?.arrayValue?.first?["SpecialToken"]?["id"]?.stringValue
        addsBos = json["post_processor"]?["type"]?.stringValue == "TemplateProcessing" && first != nil && Self.specialId([first ?? ""], added: added, model: model) == bosId
        let contents = added.all.map(\.content)
        btxpipe = contents == [BPETokenizer.bosText, BPETokenizer.eosText] ? try? BPETokenizer(huggingFaceJSON: json) : nil
    }

    /// The decoders whose output btxpipe reproduces; returns whether a leading space is stripped.
    static func checkDecoder(_ json: JSONValue?, field: String = "decoder") throws -> Bool {
        guard let json, json != .null else { return false }
        switch json["type"]?.stringValue ?? "" {
        case "ByteLevel", "ByteFallback", "Fuse": return false
        case "Replace": return false
        case "Strip": return (json["start"]?.intValue ?? 0) > 0
        case "Metaspace": return json["prepend_scheme"]?.stringValue != "never" && json["add_prefix_space"]?.boolValue != false
        case "Sequence":
            let list = json["decoders"]?.arrayValue ?? []
            return try list.enumerated().map { try checkDecoder($1, field: "\(field).decoders[\($0)]") }.contains(true)
        case let other: throw TokenizerError.unsupported(field: "\(field).type", value: "decoder \"\(other)\"")
        }
    }

    /// BOS/EOS token texts from a tokenizer_config.json (strings or {"content": …} objects).
    static func specialNames(_ config: Data?) throws -> (bos: [String]?, eos: [String]?) {
        guard let config else { return (nil, nil) }
        guard let json = try? JSONValue.parse(config), json.objectValue != nil else {
            throw TokenizerError.badTokenizerJSON(field: "tokenizer_config.json", expected: "a JSON object")
        }
        func name(_ key: String) -> [String]? {
            (json[key]?.stringValue ?? json[key]?["content"]?.stringValue).map { [$0] }
        }
        return (name("bos_token"), name("eos_token"))
    }

    static func specialId(_ names: [String], added: AddedTokens, model: BPEModel) -> UInt32? {
        for name in names {
            if let t = added.all.first(where: { $0.content == name }) { return t.id }
            if let id = model.vocab[model.byteLevel ? (BPEModel.byteLevelBytes(name) ?? []) : Array(name.utf8)] { return id }
        }
        return nil
    }

    /// The unknown-token id, when the model has one.
    public var unk: UInt32? { model.unk }

    /// An encoder (btxpipe's fast `BPEEncoder` for btxpipe's own tokenizer unless `generic`).
    public func makeEncoder(generic: Bool = false) -> TokenEncoder {
        if let btxpipe, !generic { return BPEEncoder(btxpipe) }
        return HFEncoder(self)
    }

    /// The id of an added token or vocab token spelled `text`.
    public func id(of text: String) -> UInt32? { Self.specialId([text], added: added, model: model) }

    /// The text an added token (or vocab token) stands for, by id.
    public func addedToken(_ id: UInt32) -> String? { added.all.first { $0.id == id }?.content }

    /// The bytes one token contributes to decoded text (added tokens: their text when
    /// `includeSpecial`, else nothing for special ones).
    public func bytes(of id: UInt32, includeSpecial: Bool = false) -> [UInt8] {
        if let t = added.all.first(where: { $0.id == id }) { return t.special && !includeSpecial ? [] : Array(t.content.utf8) }
        return model.pieces[id] ?? []
    }

    /// The text of `ids` as the tokenizer's decoder gives it (special tokens skipped).
    public func decode(_ ids: [UInt32]) -> Data {
        var out = Data(ids.flatMap { bytes(of: $0) })
        if decoderStripsLeadingSpace, out.first == 0x20 { out.removeFirst() }
        return out
    }
}
