import ArgumentParser
import BTXPipeline
import BTXStages
import BTXStore
import Foundation

/// Where `export` and `generate` find a model: a stage of a pipeline (`--pipeline FILE`), a manifest
/// hash, an action key, a hash prefix, a ref, or a name given to `import hf --name`.
struct ModelSourceOptions: ParsableArguments {
    @Option(name: .long, help: "Resolve the model as a stage of this pipeline spec.")
    var pipeline: String?

    @Option(name: .long, help: "The store directory (default: the pipeline's `store:`, else store/).")
    var store: String?

    /// The store and the model manifest that `text` names.
    func resolve(_ text: String) throws -> (store: Store, manifest: Manifest) {
        if let pipeline {
            let session = try PipelineSession(PipelineOptions.parse([pipeline] + (store.map { ["--store", $0] } ?? [])))
            let instance = try session.stage(text)
            let step = try session.planner.plan(targets: [instance.name], state: session.state).last
            guard let key = step?.key?.hash, let entry = try session.store.action(key) else {
                throw CommandFailure.usage("stage '\(instance.name)' has no cached output yet (run the pipeline first)")
            }
            return (session.store, try session.store.manifest(entry.output))
        }
        let store = try Store(root: URL(fileURLWithPath: self.store ?? "store"))
        let hash: ObjectHash
        if let named = try? store.ref(ModelSourceOptions.refName(text)) {
            hash = named
        } else {
            do { hash = try store.resolve(text) } catch { throw CommandFailure.usage("\(error)") }
        }
        if let entry = try store.action(hash) { return (store, try store.manifest(entry.output)) }
        return (store, try store.manifest(hash))
    }

    /// The ref `import hf --name NAME` sets.
    static func refName(_ name: String) -> String { "model/\(name)" }
}
