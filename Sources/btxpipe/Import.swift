import ArgumentParser
import BTXPipeline
import BTXStages
import BTXStore
import Foundation

/// `btxpipe import hf DIR` / `btxpipe import gguf FILE`: bring an external checkpoint into the store.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import an external model into the store.", subcommands: [ImportHF.self, ImportGGUF.self])
}

/// The options every `import` subcommand shares, and the steps after the import itself.
struct ImportOptions: ParsableArguments {
    @Option(name: .long, help: "Name for the model (ref model/NAME; default: the directory's or file's name).")
    var name: String?

    @Option(name: .long, help: "The store directory.")
    var store: String = "store"

    @OptionGroup var verbosity: Verbosity

    /// Runs `importer` against the store (with a progress counter shown on stderr and a log for its
    /// notes), stores its manifest, points `model/NAME` at it and prints what was imported; an
    /// importer error becomes a one-line failure.
    func run(defaultName: String, _ importer: (Store, TransferProgress, @escaping (String) -> Void) throws -> Manifest) throws {
        try CommandFailure.report {
            let store = try Store(root: URL(fileURLWithPath: self.store))
            let lock = try store.lockShared()   // no gc between writing the tensors and setting the ref
            defer { lock.release() }
            let start = Date()
            let manifest: Manifest
            let line = TransferLine(verbosity: verbosity)
            defer { line.end() }
            let progress = line.progress("import")
            do {
                manifest = try importer(store, progress) { note in
                    line.end()
                    print(note)
                }
                progress.finish()
                line.end()
            } catch let error as HFError {
                throw CommandFailure.failed("\(error)")
            } catch let error as SafetensorsError {
                throw CommandFailure.failed("\(error)")
            } catch let error as GGUFError {
                throw CommandFailure.failed("\(error)")
            }
            let hash = try store.putManifest(manifest)
            let ref = ModelSourceOptions.refName(name ?? defaultName)
            try store.setCompleteRef(ref, to: hash)
            let bytes = manifest.tensors.values.reduce(0) { $0 + $1.byteCount }
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "imported %.1f MB in %.2f s (%.0f MB/s) as %@ (ref %@)",
                         Double(bytes) / 1e6, seconds, Double(bytes) / 1e6 / max(seconds, 1e-9), hash.hex, ref))
        }
    }
}

/// `btxpipe import hf DIR [--name NAME]`: a Hugging Face Llama/Mixtral directory → a model manifest.
struct ImportHF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hf", abstract: "Import a Hugging Face LlamaForCausalLM/MixtralForCausalLM directory.")

    @Argument(help: "The checkpoint directory (config.json, model.safetensors[.index.json], tokenizer.json).")
    var directory: String

    @OptionGroup var options: ImportOptions

    func run() throws {
        let url = URL(fileURLWithPath: directory)
        try options.run(defaultName: url.standardizedFileURL.lastPathComponent) { store, progress, log in
            try HFImporter.importModel(url, into: store, progress: progress, log: log)
        }
    }
}

/// `btxpipe import gguf FILE [--name NAME]`: a llama GGUF file (dense or MoE; f32, f16, bf16, q8_0,
/// q4_0, q4_1, q4_K, q5_K, q6_K tensors) → a model manifest with f32 tensors and its tokenizer.
struct ImportGGUF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gguf", abstract: "Import a llama-architecture GGUF file (dequantized to f32, tokenizer from its metadata).")

    @Argument(help: "The .gguf file.")
    var file: String

    @OptionGroup var options: ImportOptions

    func run() throws {
        let url = URL(fileURLWithPath: file)
        try options.run(defaultName: url.deletingPathExtension().lastPathComponent) { store, progress, log in
            try GGUFImporter.importModel(url, into: store, progress: progress, log: log)
        }
    }
}
