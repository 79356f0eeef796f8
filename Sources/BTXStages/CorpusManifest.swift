import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// A domain corpus as a store manifest (kind "corpus"): `objects["documents"]` a serialized
/// `DocumentCollection`, `metadata["domain"]`, document and byte counts; the math corpus also has
/// `objects["held_out"]` (JSON Lines problems for exact-match evaluation).
enum CorpusManifest {
    /// The manifest kind.
    static let kind = "corpus"

    /// Stores `documents` and returns the corpus manifest.
    static func make(domain: String, documents: DocumentCollection, store: Store,
                     objects extra: [String: ObjectHash] = [:], metadata: [String: JSONValue] = [:]) throws -> Manifest {
        var objects = extra
        objects["documents"] = try store.putObject(documents.serialized())
        var meta = metadata
        meta["domain"] = .string(domain)
        meta["documents"] = .int(Int64(documents.count))
        meta["bytes"] = .int(Int64(documents.byteCount))
        return Manifest(kind: kind, objects: objects, metadata: meta)
    }

    /// The documents of a corpus manifest (input `input`, for errors).
    static func documents(_ manifest: Manifest, store: Store, input: String) throws -> DocumentCollection {
        guard manifest.kind == kind, let object = manifest.objects["documents"] else {
            throw StageError.failed("input '\(input)' is a '\(manifest.kind)' manifest, expected a corpus with documents")
        }
        do { return try DocumentCollection(serialized: try store.object(object)) } catch {
            throw StageError.failed("input '\(input)': \(error)")
        }
    }
}
