import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// One domain's tokens as read from a "tokens" manifest: tensors `train` and `validation` (u16 or u32
/// token ids, EOS between documents) and `metadata["domain"]`.
struct TokenCorpus {
    /// The domain's name ("code", "math", …).
    let domain: String
    /// Training tokens.
    let train: [UInt32]
    /// Held-out tokens.
    let validation: [UInt32]

    /// The manifest kind this reads.
    static let kind = "tokens"

    /// Reads `manifest` (input `input` of the stage, for errors).
    init(_ manifest: Manifest, store: Store, input: String) throws {
        guard manifest.kind == Self.kind else {
            throw StageError.failed("input '\(input)' is a '\(manifest.kind)' manifest, expected tokens")
        }
        func tokens(_ name: String) throws -> [UInt32] {
            guard let entry = manifest.tensors[name] else {
                throw StageError.failed("input '\(input)': tokens manifest has no '\(name)' tensor")
            }
            guard entry.dtype == .u16 || entry.dtype == .u32, entry.shape.count == 1 else {
                throw StageError.failed("input '\(input)': '\(name)' is \(entry.dtype.rawValue) \(entry.shape), expected 1-D u16 or u32")
            }
            let data = try store.object(entry.object)
            guard data.count == entry.byteCount else {
                throw StageError.failed("input '\(input)': '\(name)' holds \(data.count) bytes, expected \(entry.byteCount)")
            }
            return TokenSplit.tokens(data, dtype: entry.dtype)
        }
        domain = manifest.metadata["domain"]?.stringValue ?? input
        train = try tokens("train")
        validation = try tokens("validation")
    }

    /// Every manifest of the list input `name`, in spec order (at least one).
    static func inputs(_ context: StageContext, name: String) throws -> [TokenCorpus] {
        let manifests = context.inputList(name)
        guard !manifests.isEmpty else { throw StageError.missingInput(name: name) }
        return try manifests.enumerated().map { i, m in
            try TokenCorpus(m, store: context.store, input: manifests.count == 1 ? name : "\(name).\(i)")
        }
    }
}
