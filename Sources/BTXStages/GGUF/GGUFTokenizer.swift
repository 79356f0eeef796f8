import BTXData
import BTXStore
import Foundation

/// A GGUF file's tokenizer (`tokenizer.ggml.*` metadata) rebuilt as the Hugging Face
/// `tokenizer.json` and `tokenizer_config.json` that transformers builds when it loads the file
/// (transformers/integrations/gguf/gguf_tokenizer_mapping.py: `byte_level_tokenizer` →
/// `GPT2Tokenizer`, then `add_gguf_special_tokens` and `set_split_regex`).
///
/// Supported: `tokenizer.ggml.model` "gpt2" (byte-level BPE with merges) with the GPT-2 split
/// (`tokenizer.ggml.pre` absent, "default", "gpt-2", "smollm"). Other models and pre-tokenizers
/// (Llama 3's "llama-bpe", Qwen's, …) are refused by name: guessing would tokenize differently from
/// llama.cpp. TODO: Llama 3's split regex, once a fixture proves it against transformers.
struct GGUFTokenizer {
    let path: String
    let tokens: [String]
    /// llama.cpp token types (1 normal, 3 control, 4 user-defined, …), or empty.
    let types: [Int]
    let merges: [(String, String)]
    let pre: String
    let bosID: Int?, eosID: Int?, unknownID: Int?, paddingID: Int?
    let addBOS: Bool, addEOS: Bool
    let chatTemplate: String?
    let contextLength: Int?

    /// `tokenizer.ggml.pre` values that mean GPT-2's own split (transformers' ByteLevel default).
    static let gpt2Splits: Set<String> = ["", "default", "gpt-2", "gpt2", "smollm"]

    /// Reads and checks the tokenizer metadata of `reader`.
    init(reader: GGUFReader) throws {
        path = reader.path
        let config = GGUFModelConfig(reader: reader)
        let model = try config.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw GGUFError.unsupported(file: path, field: "metadata tokenizer.ggml.model",
                                        feature: "tokenizer model \"\(model)\" (btxpipe rebuilds \"gpt2\" byte-level BPE)")
        }
        pre = reader.metadata["tokenizer.ggml.pre"]?.stringValue ?? ""
        guard GGUFTokenizer.gpt2Splits.contains(pre) else {
            throw GGUFError.unsupported(file: path, field: "metadata tokenizer.ggml.pre", feature: "pre-tokenizer \"\(pre)\"")
        }
        let tokens = try GGUFTokenizer.strings(reader, "tokenizer.ggml.tokens")
        guard !tokens.isEmpty else { throw config.malformed("tokenizer.ggml.tokens", "is empty") }
        self.tokens = tokens
        merges = try GGUFTokenizer.strings(reader, "tokenizer.ggml.merges").enumerated().map { index, merge in
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw config.malformed("tokenizer.ggml.merges", "entry \(index) \"\(merge)\" is not two tokens separated by one space") }
            return (String(parts[0]), String(parts[1]))
        }
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
        addBOS = reader.metadata["tokenizer.ggml.add_bos_token"]?.boolValue ?? false
        addEOS = reader.metadata["tokenizer.ggml.add_eos_token"]?.boolValue ?? false
        chatTemplate = reader.metadata["tokenizer.chat_template"]?.stringValue
        contextLength = try config.optionalInt("llama.context_length")
    }

    private static func strings(_ reader: GGUFReader, _ key: String) throws -> [String] {
        guard let value = reader.metadata[key] else { throw GGUFModelConfig(reader: reader).malformed(key, "missing (expected an array of strings)") }
        guard case let .array(.string, elements) = value else {
            throw GGUFModelConfig(reader: reader).malformed(key, "expected an array of strings, found \(value.type)")
        }
        return elements.map { $0.stringValue ?? "" }
    }

    /// The vocabulary spelled in the byte-level alphabet: a token using any other character is
    /// respelled from its UTF-8 bytes (as transformers' `byte_level_tokenizer` does).
    func vocabulary() -> [String: Int] {
        let alphabet = Set(BPETokenizer.byteToUnicode)
        var vocab: [String: Int] = [:]
        for (id, token) in tokens.enumerated() {
            let spelled = token.allSatisfy(alphabet.contains) ? token : String(token.utf8.map { BPETokenizer.byteToUnicode[Int($0)] })
            vocab[spelled] = id   // NOTE: a later duplicate wins, as in Python's dict comprehension.
        }
        return vocab
    }

    /// The added tokens: bos/eos/unk/pad and every control token spelled in the byte alphabet
    /// (special), then user-defined tokens (not special); sorted by id.
    func addedTokens() -> [(id: Int, content: String, special: Bool)] {
        let alphabet = Set(BPETokenizer.byteToUnicode)
        var special = Set([bosID, eosID, unknownID, paddingID].compactMap { $0 })
        var plain = Set<Int>()
        for (id, type) in types.enumerated() {
            if type == 3, tokens[id].allSatisfy(alphabet.contains) { special.insert(id) }
            if type == 4 { plain.insert(id) }
        }
        plain.subtract(special)
        let all: [(id: Int, content: String, special: Bool)] = special.map { (id: $0, content: tokens[$0], special: true) }
            + plain.map { (id: $0, content: tokens[$0], special: false) }
        return all.sorted { $0.id < $1.id }
    }

    /// `tokenizer.json`.
    func tokenizerJSON() throws -> JSONValue {
        let preTokenizer: JSONValue = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let added: [JSONValue] = addedTokens().map {
            ["id": .int(Int64($0.id)), "content": .string($0.content), "single_word": false, "lstrip": false,
             "rstrip": false, "normalized": false, "special": .bool($0.special)]
        }
        let model: JSONValue = [
            "type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "", "end_of_word_suffix": "",
            "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": .object(vocabulary().mapValues { .int(Int64($0)) }),
            "merges": .array(merges.map { JSONValue.array([.string($0.0), .string($0.1)]) }),
        ]
        return ["version": "1.0", "truncation": nil, "padding": nil, "added_tokens": .array(added), "normalizer": nil,
                "pre_tokenizer": preTokenizer, "post_processor": postProcessor(),
                "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
                "model": model]
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
