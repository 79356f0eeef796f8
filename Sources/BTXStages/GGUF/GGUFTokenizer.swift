import BTXData
import BTXStore
import Foundation

/// A GGUF file's tokenizer (`tokenizer.ggml.*` metadata) rebuilt as the Hugging Face
/// `tokenizer.json` and `tokenizer_config.json` that transformers builds when it loads the file
/// (transformers/integrations/gguf/gguf_tokenizer_mapping.py: `byte_level_tokenizer` →
/// `GPT2Tokenizer`, then `add_gguf_special_tokens` and `set_split_regex`).
///
/// Supported (`GGUFTokenizer.Kind`):
/// - `tokenizer.ggml.model` "gpt2" (byte-level BPE with merges) with the GPT-2 split
///   (`tokenizer.ggml.pre` absent, "default", "gpt-2", "smollm") or Llama 3's ("llama-bpe", "llama3",
///   "llama-v3": transformers' `set_split_regex`, and `ignore_merges` as llama.cpp sets it for them);
/// - "llama" (SentencePiece BPE with byte fallback: Llama 2, Mistral, TinyLlama): the vocabulary as
///   spelled, merges from the file or else recovered from the scores as transformers'
///   `generate_merges` does (llama.cpp's SPM tokenizer merges the adjacent pair whose result scores
///   highest, llama-vocab.cpp `llm_tokenizer_spm`), Metaspace and byte fallback as `LlamaTokenizer`.
/// Other models and pre-tokenizers (Qwen's, …) are refused by name: guessing would tokenize
/// differently from llama.cpp.
struct GGUFTokenizer {
    /// The tokenizer kinds rebuilt.
    enum Kind { case gpt2, llama3, sentencePiece }

    let path: String
    let kind: Kind
    let tokens: [String]
    /// llama.cpp token types (1 normal, 3 control, 4 user-defined, …), or empty.
    let types: [Int]
    let merges: [(String, String)]
    let pre: String
    /// SentencePiece: whether a space is put before the text (`tokenizer.ggml.add_space_prefix`, default true).
    let addSpacePrefix: Bool
    let bosID: Int?, eosID: Int?, unknownID: Int?, paddingID: Int?
    let addBOS: Bool, addEOS: Bool
    let chatTemplate: String?
    let contextLength: Int?

    /// `tokenizer.ggml.pre` values that mean GPT-2's own split (transformers' ByteLevel default).
    static let gpt2Splits: Set<String> = ["", "default", "gpt-2", "gpt2", "smollm"]
    /// `tokenizer.ggml.pre` values llama.cpp splits with Llama 3's regex and whose merges it ignores
    /// for words in the vocabulary (llama-vocab.cpp `LLAMA_VOCAB_PRE_TYPE_LLAMA3`).
    static let llama3Splits: Set<String> = ["llama-bpe", "llama3", "llama-v3"]

    /// Reads and checks the tokenizer metadata of `reader`.
    init(reader: GGUFReader) throws {
        path = reader.path
        let config = GGUFModelConfig(reader: reader)
        let model = try config.string("tokenizer.ggml.model")
        pre = reader.metadata["tokenizer.ggml.pre"]?.stringValue ?? ""
        kind = try Self.kind(model: model, pre: pre, path: path)
        let tokens = try GGUFTokenizer.strings(reader, "tokenizer.ggml.tokens")
        guard !tokens.isEmpty else { throw config.malformed("tokenizer.ggml.tokens", "is empty") }
        self.tokens = tokens
        if kind == .sentencePiece, reader.metadata["tokenizer.ggml.merges"] == nil {
            merges = SentencePieceMerges.generate(tokens: tokens, scores: try Self.scores(reader, count: tokens.count))
        } else {
            merges = try GGUFTokenizer.strings(reader, "tokenizer.ggml.merges").enumerated().map { index, merge in
                let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw config.malformed("tokenizer.ggml.merges", "entry \(index) \"\(merge)\" is not two tokens separated by one space") }
                return (String(parts[0]), String(parts[1]))
            }
        }
        addSpacePrefix = reader.metadata["tokenizer.ggml.add_space_prefix"]?.boolValue ?? true
        if let raw = reader.metadata["tokenizer.ggml.token_type"] {
            let values = raw.arrayValue?.compactMap(\.intValue) ?? []
            guard values.count == tokens.count else {
                throw config.malformed("tokenizer.ggml.token_type", "expected \(tokens.count) integers, one per token")
            }
            types = values
        } else { types = [] }
        func id(_ key: String) throws -> Int? {
            guard let id = try config.optionalInt("tokenizer.ggml.\(key)") else { return nil }
            guard tokens.indices.contains(id) else { throw config.malformed("tokenizer.ggml.\(key)", "\(id) is not a token id (0..<\(tokens.count))") }
            return id
        }
        bosID = try id("bos_token_id")
        eosID = try id("eos_token_id")
        unknownID = try id("unknown_token_id")
        paddingID = try id("padding_token_id")
        // NOTE: llama.cpp (and transformers) put BOS first for a SentencePiece vocabulary that does not say.
        addBOS = reader.metadata["tokenizer.ggml.add_bos_token"]?.boolValue ?? (kind == .sentencePiece)
        addEOS = reader.metadata["tokenizer.ggml.add_eos_token"]?.boolValue ?? false
        chatTemplate = reader.metadata["tokenizer.chat_template"]?.stringValue
        contextLength = try config.optionalInt("llama.context_length")
    }

    /// The kind `tokenizer.ggml.model` and `.pre` name, or an error naming what is not supported.
    static func kind(model: String, pre: String, path: String) throws -> Kind {
        switch model {
        case "gpt2":
            if gpt2Splits.contains(pre) { return .gpt2 }
            if llama3Splits.contains(pre) { return .llama3 }
            let known = (gpt2Splits.subtracting([""]) .union(llama3Splits)).sorted().joined(separator: ", ")
            throw GGUFError.unsupported(file: path, field: "metadata tokenizer.ggml.pre", feature: "pre-tokenizer \"\(pre)\" (btxpipe rebuilds \(known))")
        case "llama":
            return .sentencePiece
        default:
            throw GGUFError.unsupported(file: path, field: "metadata tokenizer.ggml.model",
                                        feature: "tokenizer model \"\(model)\" (btxpipe rebuilds \"gpt2\" byte-level BPE and \"llama\" SentencePiece BPE)")
        }
    }

    /// `tokenizer.ggml.scores`: one number per token.
    private static func scores(_ reader: GGUFReader, count: Int) throws -> [Double] {
        let config = GGUFModelConfig(reader: reader)
        guard let value = reader.metadata["tokenizer.ggml.scores"] else {
            throw config.malformed("tokenizer.ggml.scores", "missing (a \"llama\" vocabulary without merges needs its scores)")
        }
        let scores = value.arrayValue?.compactMap(\.doubleValue) ?? []
        guard scores.count == count, value.arrayValue?.count == count else {
            throw config.malformed("tokenizer.ggml.scores", "expected \(count) numbers, one per token")
        }
        guard scores.contains(where: { $0 != scores[0] }) else {
            throw config.malformed("tokenizer.ggml.scores", "are all \(scores[0]): they give no merge order and the file has no merges")
        }
        return scores
    }

    private static func strings(_ reader: GGUFReader, _ key: String) throws -> [String] {
        guard let value = reader.metadata[key] else { throw GGUFModelConfig(reader: reader).malformed(key, "missing (expected an array of strings)") }
        guard case let .array(.string, elements) = value else {
            throw GGUFModelConfig(reader: reader).malformed(key, "expected an array of strings, found \(value.type)")
        }
        return elements.map { $0.stringValue ?? "" }
    }

    /// The vocabulary: byte-level kinds spelled in the byte-level alphabet (a token using any other
    /// character is respelled from its UTF-8 bytes, as transformers' `byte_level_tokenizer` does);
    /// SentencePiece as the file spells it.
    func vocabulary() -> [String: Int] {
        let alphabet = Set(BPETokenizer.byteToUnicode)
        var vocab: [String: Int] = [:]
        for (id, token) in tokens.enumerated() {
            let keep = kind == .sentencePiece || token.allSatisfy(alphabet.contains)
            let spelled = keep ? token : String(token.utf8.map { BPETokenizer.byteToUnicode[Int($0)] })
            vocab[spelled] = id   // NOTE: a later duplicate wins, as in Python's dict comprehension.
        }
        return vocab
    }

    /// The added tokens: bos/eos/unk/pad and every control token (for byte-level kinds only those
    /// spelled in the byte alphabet) special, then user-defined tokens (not special); sorted by id.
    func addedTokens() -> [(id: Int, content: String, special: Bool)] {
        let alphabet = Set(BPETokenizer.byteToUnicode)
        var special = Set([bosID, eosID, unknownID, paddingID].compactMap { $0 })
        var plain = Set<Int>()
        for (id, type) in types.enumerated() {
            if type == 3, kind == .sentencePiece || tokens[id].allSatisfy(alphabet.contains) { special.insert(id) }
            if type == 4 { plain.insert(id) }
        }
        plain.subtract(special)
        let all: [(id: Int, content: String, special: Bool)] = special.map { (id: $0, content: tokens[$0], special: true) }
            + plain.map { (id: $0, content: tokens[$0], special: false) }
        return all.sorted { $0.id < $1.id }
    }

    /// Llama 3's split regex (transformers' `_LLAMA3_SPLIT`, the regex of Llama 3's tokenizer.json).
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// `tokenizer.json`.
    func tokenizerJSON() throws -> JSONValue {
        let added: [JSONValue] = addedTokens().map {
            ["id": .int(Int64($0.id)), "content": .string($0.content), "single_word": false, "lstrip": false,
             "rstrip": false, "normalized": false, "special": .bool($0.special)]
        }
        let sentencePiece = kind == .sentencePiece
        let model: JSONValue = [
            "type": "BPE", "dropout": nil, "unk_token": sentencePiece ? unknownID.map { JSONValue.string(tokens[$0]) } ?? .null : .null,
            "continuing_subword_prefix": sentencePiece ? nil : "", "end_of_word_suffix": sentencePiece ? nil : "",
            "fuse_unk": .bool(sentencePiece), "byte_fallback": .bool(sentencePiece), "ignore_merges": .bool(kind == .llama3),
            "vocab": .object(vocabulary().mapValues { .int(Int64($0)) }),
            "merges": .array(merges.map { JSONValue.array([.string($0.0), .string($0.1)]) }),
        ]
        return ["version": "1.0", "truncation": nil, "padding": nil, "added_tokens": .array(added), "normalizer": nil,
                "pre_tokenizer": preTokenizer(), "post_processor": postProcessor(), "decoder": decoder(), "model": model]
    }

    /// transformers' pre-tokenizer for the kind: GPT2Tokenizer's ByteLevel, `set_split_regex`'s
    /// Llama 3 split, or LlamaTokenizer's Metaspace.
    private func preTokenizer() -> JSONValue {
        switch kind {
        case .gpt2:
            return ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        case .llama3:
            return ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": .string(Self.llama3Regex)], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
            ]]
        case .sentencePiece:
            return ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": addSpacePrefix ? "first" : "never", "split": false]
        }
    }

    /// The decoder transformers' tokenizer class for the kind has.
    private func decoder() -> JSONValue {
        guard kind == .sentencePiece else { return ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true] }
        var steps: [JSONValue] = [["type": "Replace", "pattern": ["String": "\u{2581}"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"]]
        if addSpacePrefix { steps.append(["type": "Strip", "content": " ", "start": 1, "stop": 0]) }
        return ["type": "Sequence", "decoders": .array(steps)]
    }

    /// transformers' `update_post_processor`: BOS and/or EOS around each sequence when the file says so.
    private func postProcessor() -> JSONValue {
        var specials: [String: JSONValue] = [:]
        func piece(_ id: Int?, _ wanted: Bool, _ typeID: Int) -> [JSONValue] {
            guard wanted, let id else { return [] }
            let token = tokens[id]
            specials[token] = .object(["id": .string(token), "ids": .array([.int(Int64(id))]), "tokens": .array([.string(token)])])
            return [.object(["SpecialToken": .object(["id": .string(token), "type_id": .int(Int64(typeID))])])]
        }
        func sequence(_ name: String, _ typeID: Int) -> JSONValue {
            .object(["Sequence": .object(["id": .string(name), "type_id": .int(Int64(typeID))])])
        }
        let single = piece(bosID, addBOS, 0) + [sequence("A", 0)] + piece(eosID, addEOS, 0)
        let pair = single + piece(bosID, addBOS, 1) + [sequence("B", 1)] + piece(eosID, addEOS, 1)
        return .object(["type": "TemplateProcessing", "single": .array(single), "pair": .array(pair), "special_tokens": .object(specials)])
    }

    /// `tokenizer_config.json`: special tokens, BOS/EOS flags and the chat template.
    func tokenizerConfigJSON() -> JSONValue {
        var config: [String: JSONValue] = ["add_bos_token": .bool(addBOS), "add_eos_token": .bool(addEOS),
                                           "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false]
        for (key, id) in [("bos_token", bosID), ("eos_token", eosID), ("unk_token", unknownID), ("pad_token", paddingID)] {
            config[key] = id.map { .string(tokens[$0]) } ?? .null
        }
        if let chatTemplate { config["chat_template"] = .string(chatTemplate) }
        if let contextLength { config["model_max_length"] = .int(Int64(contextLength)) }
        return .object(config)
    }
}
