import BTXData
import BTXStore
import Foundation

/// A Hugging Face `tokenizer.json` (and its `tokenizer_config.json`) at the import/export boundary:
/// checked on import to be a kind btxpipe encodes exactly (`HFTokenizer`), loaded from a model
/// manifest, and written on export with a `tokenizer_config.json`.
enum HFTokenizerFile {
    /// Refuses a tokenizer.json that is not JSON or not a supported kind, naming the field.
    static func check(_ url: URL, config: URL? = nil) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw HFError.missingFile(url.path, hint: "unreadable")
        }
        let configData = config.flatMap { FileManager.default.contents(atPath: $0.path) }
        do { _ = try HFTokenizer(json: data, config: configData) } catch let error as TokenizerError {
            switch error {
            case let .unsupported(field, value): throw HFError.unsupported(file: url.path, feature: "\(field): \(value)")
            case let .badTokenizerJSON(field, expected): throw HFError.badConfig(file: url.path, field: field, expected: expected)
            default: throw HFError.badConfig(file: url.path, field: "(top level)", expected: "a tokenizer.json (\(error))")
            }
        }
    }

    /// The tokenizer a model manifest carries, or nil when it has none.
    static func tokenizer(_ manifest: Manifest, store: Store) throws -> HFTokenizer? {
        guard let object = manifest.objects["tokenizer.json"] else { return nil }
        let config = try manifest.objects["tokenizer_config.json"].map { try store.object($0) }
        return try HFTokenizer(json: try store.object(object), config: config)
    }

    /// The `tokenizer_config.json` of an export: the source's own when the model carries one (it has
    /// the chat template, if any), else one naming the special tokens so `AutoTokenizer` loads the
    /// directory as a `PreTrainedTokenizerFast`.
    static func config(for tokenizer: HFTokenizer?, maxLength: Int) -> Data {
        var config: [String: JSONValue] = [
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": .int(Int64(maxLength)),
            "clean_up_tokenization_spaces": false,
        ]
        guard let tokenizer else { return JSONValue.object(config).canonicalData }
        func text(_ id: UInt32?) -> JSONValue? { id.flatMap(tokenizer.addedToken).map { .string($0) } }
        if let bos = text(tokenizer.bos) { config["bos_token"] = bos }
        if let eos = text(tokenizer.eos) { config["eos_token"] = eos; config["pad_token"] = eos }
        if let unk = text(tokenizer.unk) { config["unk_token"] = unk }
        return JSONValue.object(config).canonicalData
    }
}
