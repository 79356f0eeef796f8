import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// The one-tokenizer rule of the pipeline (DESIGN.md §7): a tokenizer is the store object of its
/// Hugging Face `tokenizer.json` (identity = that object's hash); every model manifest carries it
/// (`objects["tokenizer.json"]`, plus `tokenizer_config.json` when there is one), token manifests
/// record it (`metadata["tokenizer"]`), and a stage given a model and tokens refuses a mismatch.
enum ModelTokenizer {
    /// The object names a model manifest carries for its tokenizer.
    static let objectNames = ["tokenizer.json", "tokenizer_config.json"]

    /// The tokenizer.json object of a tokenizer, model or tokens manifest, if it records one.
    static func hash(_ manifest: Manifest) -> ObjectHash? {
        if let object = manifest.objects["tokenizer.json"] { return object }
        return manifest.metadata["tokenizer"]?.stringValue.flatMap(ObjectHash.init(hex:))
    }

    /// The tokenizer objects of `source` (a tokenizer or model manifest), to put into a model manifest.
    static func objects(of source: Manifest) -> [String: ObjectHash] {
        source.objects.filter { objectNames.contains($0.key) }
    }

    /// `manifest` with the tokenizer objects of `source` (the input it was made from).
    static func carrying(_ manifest: Manifest, from source: Manifest) -> Manifest {
        var out = manifest
        for (name, object) in objects(of: source) { out.objects[name] = object }
        return out
    }

    /// Loads the tokenizer of input `input` (a "tokenizer" or "model" manifest); returns it with its hash.
    static func load(_ context: StageContext, input: String = "tokenizer") throws -> (HFTokenizer, ObjectHash) {
        let manifest = try context.input(input)
        guard let object = manifest.objects["tokenizer.json"] else {
            throw StageError.failed("input '\(input)' (a '\(manifest.kind)' manifest) has no tokenizer.json object (expected a tokenizer or a model with one)")
        }
        do { return (try HFTokenizerFile.tokenizer(manifest, store: context.store)!, object) } catch {
            throw StageError.failed("input '\(input)': \(error)")
        }
    }

    /// Throws, in one line naming both inputs and both tokenizers, when the manifests of the inputs
    /// `names` (each a single or list input) do not all share one tokenizer. Inputs that record none
    /// are not compared.
    static func checkSame(_ context: StageContext, inputs names: [String]) throws {
        var first: (name: String, hash: ObjectHash)?
        for name in names {
            let list = context.inputList(name)
            for (i, manifest) in list.enumerated() {
                guard let hash = hash(manifest) else { continue }
                let label = list.count == 1 && context.inputs[name] != nil ? name : "\(name).\(i)"
                guard let f = first else { first = (label, hash); continue }
                guard f.hash == hash else {
                    throw StageError.failed("input '\(f.name)' uses tokenizer \(f.hash.short) but input '\(label)' uses tokenizer \(hash.short): a model and its data (and all experts) must share one tokenizer")
                }
            }
        }
    }
}
