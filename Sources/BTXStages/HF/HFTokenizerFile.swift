import BTXData
import BTXStore
import Foundation

/// A Hugging Face `tokenizer.json`: checked on import to be byte-level BPE (what btxpipe's tokenizer
/// is), and turned into a `BPETokenizer` when its ids follow btxpipe's layout.
enum HFTokenizerFile {
    /// Refuses a tokenizer.json that is not JSON or not a BPE model.
    static func check(_ url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path), let json = try? JSONValue.parse(data) else {
            throw HFError.badConfig(file: url.path, field: "(top level)", expected: "a JSON object")
        }
        guard json["model"]?["type"]?.stringValue == "BPE" else {
            throw HFError.unsupported(file: url.path, feature: "tokenizer model type \(json["model"]?["type"]?.stringValue ?? "missing") (only byte-level BPE)")
        }
    }

    /// The tokenizer stored as `object`, or nil (with the reason) when it is not in btxpipe's layout.
    static func tokenizer(_ object: ObjectHash, store: Store) throws -> Result<BPETokenizer, Error> {
        let data = try store.object(object)
        do { return .success(try BPETokenizer(huggingFaceJSON: data)) } catch { return .failure(error) }
    }
}
