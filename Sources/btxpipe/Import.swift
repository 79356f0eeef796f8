import ArgumentParser
import BTXStages
import BTXStore
import Foundation

/// `btxpipe import hf DIR`: bring an external checkpoint into the store.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import an external model into the store.", subcommands: [ImportHF.self])
}

/// `btxpipe import hf DIR [--name NAME]`: a Hugging Face Llama/Mixtral directory → a model manifest.
struct ImportHF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hf", abstract: "Import a Hugging Face LlamaForCausalLM/MixtralForCausalLM directory.")

    @Argument(help: "The checkpoint directory (config.json, model.safetensors[.index.json], tokenizer.json).")
    var directory: String

    @Option(name: .long, help: "Name for the model (ref model/NAME; default: the directory's name).")
    var name: String?

    @Option(name: .long, help: "The store directory.")
    var store: String = "store"

    func run() throws {
        try CommandFailure.report {
            let store = try Store(root: URL(fileURLWithPath: self.store))
            let lock = try store.lockShared()   // no gc between writing the tensors and setting the ref
            defer { lock.release() }
            let url = URL(fileURLWithPath: directory)
            let start = Date()
            let manifest: Manifest
            do {
                manifest = try HFImporter.importModel(url, into: store) { print($0) }
            } catch let error as HFError {
                throw CommandFailure.failed("\(error)")
            } catch let error as SafetensorsError {
                throw CommandFailure.failed("\(error)")
            }
            let hash = try store.putManifest(manifest)
            let ref = ModelSourceOptions.refName(name ?? url.standardizedFileURL.lastPathComponent)
            try store.setCompleteRef(ref, to: hash)
            let bytes = manifest.tensors.values.reduce(0) { $0 + $1.byteCount }
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "imported %.1f MB in %.2f s (%.0f MB/s) as %@ (ref %@)",
                         Double(bytes) / 1e6, seconds, Double(bytes) / 1e6 / max(seconds, 1e-9), hash.hex, ref))
        }
    }
}
