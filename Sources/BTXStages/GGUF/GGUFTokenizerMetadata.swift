import BTXStore
import Foundation

/// A Hugging Face `tokenizer.json` as GGUF `tokenizer.ggml.*` metadata, the way llama.cpp's
/// converter writes it (convert_hf_to_gguf.py `_set_vocab_gpt2` / `_set_vocab_llama_hf`, gguf-py
/// `SpecialVocab`), so that llama.cpp runs the file without side files:
/// - byte-level BPE (GPT-2's ByteLevel pre-tokenizer with its regex, which is btxpipe's own BPE) →
///   `model = "gpt2"`, `pre = "gpt-2"`: llama.cpp's `LLAMA_VOCAB_PRE_TYPE_GPT2` (llama-vocab.cpp) splits
///   with exactly GPT-2's regex, so it tokenizes as btxpipe does (NOTE: "gpt-2" with a dash; llama.cpp
///   refuses a pre named "gpt2");
/// - SentencePiece-style BPE with byte fallback → `model = "llama"`, `pre = "default"`, scores −1000
///   and BYTE types for `<0xNN>`, as the converter's LlamaHfVocab does.
/// Any other tokenizer is refused by name.
enum GGUFTokenizerMetadata {
    /// llama.cpp's token types (llama.h `llama_token_type`).
    enum TokenType: Int32 { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    /// The metadata for `tokenizer.json` (`data`) of a model with `vocabSize` ids; `bos`/`eos` as the
    /// model records them; `pad`/`unk` and `chatTemplate` from `tokenizer_config.json` when it names them.
    static func metadata(_ data: Data, vocabSize: Int, bos: Int?, eos: Int?, pad: Int? = nil, unk: Int? = nil,
                         chatTemplate: String?) throws -> [(key: String, value: GGUFValue)] {
        func bad(_ field: String, _ expected: String) -> GGUFExportError { .badTokenizer(field: field, expected: expected) }
        guard let json = try? JSONValue.parse(data), let model = json["model"] else { throw bad("(top level)", "a tokenizer.json object") }
        guard model["type"]?.stringValue == "BPE" else { throw bad("model.type", "\"BPE\" (found \(model["type"]?.stringValue ?? "none"))") }
        guard let vocab = model["vocab"]?.objectValue else { throw bad("model.vocab", "an object of token → id") }
        var byID = [String?](repeating: nil, count: vocabSize)
        var special = Set<Int>(), added = Set<Int>()
        for (token, id) in vocab {
            guard let id = id.intValue, id >= 0, id < vocabSize else { throw bad("model.vocab[\(token)]", "an id below the model's vocab size \(vocabSize)") }
            byID[id] = token
        }
        for entry in json["added_tokens"]?.arrayValue ?? [] {
            guard let id = entry["id"]?.intValue, let content = entry["content"]?.stringValue, id >= 0, id < vocabSize else {
                throw bad("added_tokens", "entries with an id below the model's vocab size \(vocabSize) and a content")
            }
            byID[id] = content
            added.insert(id)
            if entry["special"]?.boolValue == true { special.insert(id) }
        }
        let kind = try Self.kind(json)
        var out: [(key: String, value: GGUFValue)] = [("tokenizer.ggml.model", .string(kind == .gpt2 ? "gpt2" : "llama")),
                                                      ("tokenizer.ggml.pre", .string(kind == .gpt2 ? "gpt-2" : "default"))]
        let tokens = byID.enumerated().map { $0.element ?? "[PAD\($0.offset)]" }
        let types = byID.indices.map { id -> TokenType in
            guard let token = byID[id] else { return .unused }
            if kind == .llama, !added.contains(id), token.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">") { return .byte }
            if special.contains(id) { return .control }
            return added.contains(id) ? (kind == .gpt2 && looksSpecial(token) ? .control : .userDefined) : .normal
        }
        out.append(("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) })))
        if kind == .llama { out.append(("tokenizer.ggml.scores", .array(.float32, tokens.map { _ in .float32(-1000) }))) }
        out.append(("tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0.rawValue) })))
        if kind == .gpt2 { out.append(("tokenizer.ggml.merges", .array(.string, try merges(model).map { .string($0) }))) }
        if let bos { out.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))) }
        if let eos { out.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos)))) }
        if let unk { out.append(("tokenizer.ggml.unknown_token_id", .uint32(UInt32(unk)))) }
        if let pad { out.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(pad)))) }
        let (addBOS, addEOS) = addsSpecials(json["post_processor"])
        out += [("tokenizer.ggml.add_bos_token", .bool(addBOS)), ("tokenizer.ggml.add_eos_token", .bool(addEOS))]
        if let chatTemplate { out.append(("tokenizer.chat_template", .string(chatTemplate))) }
        return out
    }

    /// Whether encoding adds a special token before / after the text: gguf-py's SpecialVocab reads
    /// it from a TemplateProcessing post-processor (also inside a Sequence); anything else adds none.
    static func addsSpecials(_ processor: JSONValue?) -> (bos: Bool, eos: Bool) {
        guard let processor else { return (false, false) }
        if processor["type"]?.stringValue == "Sequence" {
            for p in processor["processors"]?.arrayValue ?? [] where p["type"]?.stringValue == "TemplateProcessing" { return addsSpecials(p) }
            return (false, false)
        }
        guard processor["type"]?.stringValue == "TemplateProcessing", let single = processor["single"]?.arrayValue,
              let text = single.firstIndex(where: { $0["Sequence"] != nil }) else { return (false, false) }
        return (single[..<text].contains { $0["SpecialToken"] != nil }, single[(text + 1)...].contains { $0["SpecialToken"] != nil })
    }

    enum Kind { case gpt2, llama }

    /// gpt2 for a ByteLevel pre-tokenizer using GPT-2's regex; llama for byte-fallback BPE.
    static func kind(_ json: JSONValue) throws -> Kind {
        let pre = json["pre_tokenizer"]
        if pre?["type"]?.stringValue == "ByteLevel" {
            guard pre?["use_regex"]?.boolValue ?? true, pre?["add_prefix_space"]?.boolValue != true else {
                throw GGUFExportError.badTokenizer(field: "pre_tokenizer", expected: "ByteLevel with GPT-2's regex and no prefix space (llama.cpp's \"gpt-2\" pre-tokenizer)")
            }
            return .gpt2
        }
        if json["model"]?["byte_fallback"]?.boolValue == true { return .llama }
        let described = pre?["type"]?.stringValue ?? "none"
        throw GGUFExportError.badTokenizer(field: "pre_tokenizer", expected: "ByteLevel (GPT-2) or a byte-fallback SentencePiece BPE; found \(described), whose llama.cpp pre-tokenizer btxpipe cannot name")
    }

    /// The merges as "a b" strings (tokenizer.json holds either strings or [a, b] pairs).
    static func merges(_ model: JSONValue) throws -> [String] {
        guard let list = model["merges"]?.arrayValue else { throw GGUFExportError.badTokenizer(field: "model.merges", expected: "an array") }
        return try list.enumerated().map { i, m in
            if let s = m.stringValue { return s }
            guard let pair = m.arrayValue?.compactMap(\.stringValue), pair.count == 2 else {
                throw GGUFExportError.badTokenizer(field: "model.merges[\(i)]", expected: "\"a b\" or [\"a\", \"b\"]")
            }
            return pair.joined(separator: " ")
        }
    }

    /// The converter's `does_token_look_special` (base.py): `<|…|>`, `<｜…｜>`, `<unused…>` and a few names.
    static func looksSpecial(_ token: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(token) || (token.hasPrefix("<|") && token.hasSuffix("|>"))
            || (token.hasPrefix("<｜") && token.hasSuffix("｜>")) || (token.hasPrefix("<unused") && token.hasSuffix(">"))
    }
}
