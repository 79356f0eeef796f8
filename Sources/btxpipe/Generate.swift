import ArgumentParser
import BTXStages
import BTXStore
import Foundation

/// `btxpipe generate STAGE|DIR --prompt "…"`: sample text from a model, streaming tokens as they come.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a model in the store or a Hugging Face directory.")

    @Argument(help: "A stage (with --pipeline), manifest hash, imported name, or a Hugging Face directory.")
    var model: String

    @Option(name: .long, help: "The prompt text (encoded with the model's tokenizer).")
    var prompt: String?

    @Option(name: .customLong("prompt-ids"), help: "The prompt as space-separated token ids (for models without a usable tokenizer).")
    var promptIDs: String?

    @Option(name: .customLong("max-tokens"), help: "New tokens at most.")
    var maxTokens: Int = 64

    @Option(name: .long, help: "Softmax temperature; 0 is greedy.")
    var temperature: Double = 1

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (0, 1].")
    var topP: Double = 1

    @Option(name: .customLong("top-k"), help: "Keep the K most likely tokens; 0 keeps all.")
    var topK: Int = 0

    @Option(name: .long, help: "Sampling seed.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Threads for the non-BLAS kernels.")
    var threads: Int = 2

    @OptionGroup var source: ModelSourceOptions

    func run() throws {
        try CommandFailure.report {
            guard maxTokens >= 0 else { throw CommandFailure.usage("--max-tokens must be ≥ 0") }
            let session: GenerationSession
            do { session = try loadSession() } catch let error as HFError { throw CommandFailure.failed("\(error)") }
            let ids: [Int32]
            if let promptIDs {
                let parts = promptIDs.split(separator: " ")
                ids = parts.compactMap { Int32($0) }
                guard ids.count == parts.count, !ids.isEmpty else { throw CommandFailure.usage("--prompt-ids: expected space-separated integers") }
            } else if let prompt {
                do { ids = try session.encode(prompt) } catch { throw CommandFailure.usage("\(error)") }
            } else {
                throw CommandFailure.usage("give --prompt TEXT or --prompt-ids \"1 2 3\"")
            }
            let out = FileHandle.standardOutput
            if promptIDs == nil, let prompt { out.write(Data(prompt.utf8)) }
            do {
                try session.generate(prompt: ids, maxNewTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, seed: seed) { token in
                    out.write(!session.hasTokenizer || promptIDs != nil ? Data(" \(token)".utf8) : Data(session.bytes(of: token)))
                }
            } catch { throw CommandFailure.failed("\(error)") }
            out.write(Data("\n".utf8))
        }
    }

    /// A model in the store, or a Hugging Face directory imported into a temporary store.
    func loadSession() throws -> GenerationSession {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model + "/config.json", isDirectory: &isDirectory), !isDirectory.boolValue else {
            let (store, manifest) = try source.resolve(model)
            return try GenerationSession(manifest, store: store, threads: threads)
        }
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("btxpipe-generate-\(getpid())")
        defer { try? FileManager.default.removeItem(at: temp) }
        let store = try Store(root: temp)
        return try GenerationSession(try HFImporter.importModel(URL(fileURLWithPath: model), into: store), store: store, threads: threads)
    }
}
