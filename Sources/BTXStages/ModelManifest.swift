import BTXModel
import BTXPipeline
import BTXStore
import BTXTensor
import Foundation

/// A model as a store manifest (kind "model"): one f32 tensor per parameter under its Hugging Face
/// name, the architecture under `metadata["config"]` (HF `config.json` keys), and the model's training
/// history under `metadata["history"]` (see `TrainingHistory`).
///
/// NOTE: identical tensors are stored once, so a model copied from another ("branch") costs nothing,
/// and a mixed model can point at its experts' own objects.
enum ModelManifest {
    /// The manifest kind of every model.
    static let kind = "model"

    /// Writes every tensor of `parameters` and returns the manifest (not yet stored itself).
    static func make(config: JSONValue, parameters: ParameterSet, history: TrainingHistory,
                     store: Store, extra: [String: JSONValue] = [:]) throws -> Manifest {
        var tensors: [String: TensorEntry] = [:]
        for e in parameters.entries {
            let values = UnsafeBufferPointer(start: parameters.storage + e.offset, count: e.count)
            tensors[e.name] = try store.putTensor(UnsafeRawBufferPointer(values), dtype: .f32, shape: e.shape)
        }
        var metadata = extra
        metadata["config"] = config
        metadata["history"] = try history.json()
        return Manifest(kind: kind, tensors: tensors, metadata: metadata)
    }

    /// The raw config object of a model manifest (HF keys; MoE models carry the Mixtral keys too).
    static func configJSON(_ manifest: Manifest, input: String) throws -> JSONValue {
        guard manifest.kind == kind else {
            throw StageError.failed("input '\(input)' is a '\(manifest.kind)' manifest, expected a model")
        }
        guard let config = manifest.metadata["config"], config.objectValue != nil else {
            throw StageError.failed("input '\(input)': model manifest has no config object")
        }
        return config
    }

    /// The dense Llama config of a model manifest.
    static func llamaConfig(_ manifest: Manifest, input: String) throws -> LlamaConfig {
        let json = try configJSON(manifest, input: input)
        do { return try json.decode(LlamaConfig.self) } catch {
            throw StageError.failed("input '\(input)': bad model config: \(error)")
        }
    }

    /// Loads the tensors of `manifest` into a fresh parameter set laid out by `layout`; every
    /// tensor of the layout must be present with the same shape.
    static func parameters(_ manifest: Manifest, layout: [(name: String, shape: [Int])], store: Store,
                           input: String, threads: Int = 2) throws -> ParameterSet {
        let set = ParameterSet(layout: layout)
        var entries: [TensorEntry] = []
        for e in set.entries {
            guard let entry = manifest.tensors[e.name] else {
                throw StageError.failed("input '\(input)': model has no tensor \(e.name)")
            }
            guard entry.shape == e.shape else {
                throw StageError.failed("input '\(input)': tensor \(e.name) has shape \(entry.shape), expected \(e.shape)")
            }
            entries.append(entry)
        }
        // NOTE: loading is read + zstd + SHA-256 (the hash dominates, ~1 GB/s): `threads` tensors at once,
        // f32 ones decoded straight into the set (no intermediate array), is most of `generate`'s start-up.
        let errors = ErrorSlot()
        let order = entries.indices.sorted { set.entries[$0].count > set.entries[$1].count }  // largest first
        parallelFor(order.count, threads: threads) { i in
            let (e, entry) = (set.entries[order[i]], entries[order[i]])
            do {
                if entry.dtype == .f32 {
                    try store.readTensor(entry, into: UnsafeMutableRawBufferPointer(start: set.pointer(e.name), count: e.count * 4))
                } else {
                    try set.setValues(e.name, shape: e.shape, try store.floats(entry))
                }
            } catch { errors.record(error) }
        }
        if let error = errors.first { throw error }
        return set
    }

    /// The training history recorded in a model manifest (empty for an imported or fresh model).
    static func history(_ manifest: Manifest) throws -> TrainingHistory {
        guard let json = manifest.metadata["history"] else { return TrainingHistory() }
        return try TrainingHistory(json: json)
    }
}

/// The first error of a parallel loop (thread-safe).
final class ErrorSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    /// The error recorded first, if any.
    var first: Error? { lock.lock(); defer { lock.unlock() }; return error }
    /// Keeps `error` unless one is already kept.
    func record(_ error: Error) { lock.lock(); if self.error == nil { self.error = error }; lock.unlock() }
}
