import ArgumentParser
import BTXPipeline
import BTXStages
import BTXStore
import Foundation

/// `btxpipe export STAGE --format hf OUT/` or `--format gguf OUT.gguf`: a model in the store → a
/// Hugging Face directory or a GGUF file llama.cpp runs.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a model as a Hugging Face checkpoint (LlamaForCausalLM or MixtralForCausalLM) or a GGUF file (llama.cpp, Ollama).")

    @Argument(help: "The model: a stage name (with --pipeline), a manifest hash or prefix, or an imported name.")
    var model: String

    @Argument(help: "The output directory (created; must be empty), or the .gguf file for --format gguf.")
    var output: String

    @Option(name: .long, help: "Output format: 'hf' or 'gguf' (default: gguf for a path ending in .gguf, else hf).")
    var format: String?

    @Option(name: .long, help: "Weights dtype: f32, bf16 or f16 for hf (default: as stored); f32, f16, q8_0 or q4_0 for gguf (default f32).")
    var dtype: String?

    @Flag(name: .customLong("to-store"), help: "Also store the GGUF file as an object and print its hash (unpinned: `btxpipe store put FILE --pin NAME` keeps it through gc).")
    var toStore = false

    @Option(name: .customLong("shard-size"), help: "Shard above this many tensor bytes, e.g. 2GB, 500MB (default 5GB).")
    var shardSize: String = "5GB"

    @Flag(name: .customLong("allow-routing-change"), help: "Export routing variants Mixtral computes differently, with a warning.")
    var allowRoutingChange = false

    @OptionGroup var source: ModelSourceOptions
    @OptionGroup var verbosity: Verbosity

    /// Runs `work` with a progress counter shown on stderr (the line ended before anything else prints).
    func withProgress<T>(_ work: (TransferProgress) throws -> T) rethrows -> T {
        let line = TransferLine(verbosity: verbosity)
        defer { line.end() }
        let progress = line.progress("export")
        let result = try work(progress)
        progress.finish()
        return result
    }

    /// Prints an exporter's warning on stderr.
    static func warn(_ text: String) {
        FileHandle.standardError.write(Data("btxpipe: warning: \(text)\n".utf8))
    }

    func run() throws {
        try CommandFailure.report {
            let format = self.format ?? (output.hasSuffix(".gguf") ? "gguf" : "hf")
            if format == "gguf" { return try exportGGUF() }
            guard format == "hf" else { throw CommandFailure.usage("--format \(format): expected 'hf' or 'gguf'") }
            guard !toStore else { throw CommandFailure.usage("--to-store: only for --format gguf") }
            guard let bytes = Export.parseSize(shardSize) else {
                throw CommandFailure.usage("--shard-size \(shardSize): expected a size such as 500MB, 2GB or 1000000")
            }
            var type: ElementType?
            if let dtype {
                guard let t = ElementType(rawValue: dtype), t.isFloat else { throw CommandFailure.usage("--dtype \(dtype): expected f32, bf16 or f16") }
                type = t
            }
            let (store, manifest) = try source.resolve(model)
            let start = Date()
            let exporter = HFExporter(dtype: type, shardBytes: bytes, allowRoutingChange: allowRoutingChange)
            let files: [String]
            do {
                files = try withProgress {
                    try exporter.export(manifest, from: store, to: URL(fileURLWithPath: output), progress: $0, warn: Self.warn)
                }
            } catch let error as HFError {
                throw CommandFailure.failed("\(error)")
            }
            let written = files.map { Export.fileSize(output + "/" + $0) }.reduce(0, +)
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "exported %.1f MB in %.2f s (%.0f MB/s) to %@: %@", Double(written) / 1e6, seconds,
                         Double(written) / 1e6 / max(seconds, 1e-9), output, files.joined(separator: " ")))
        }
    }

    /// `--format gguf`: one file, optionally stored as an object.
    func exportGGUF() throws {
        guard let fileType = GGUFExporter.FileType(rawValue: dtype ?? "f32") else {
            throw CommandFailure.usage("--dtype \(dtype ?? ""): expected f32, f16, q8_0 or q4_0 for --format gguf")
        }
        let (store, manifest) = try source.resolve(model)
        let start = Date()
        let url = URL(fileURLWithPath: output)
        let exporter = GGUFExporter(fileType: fileType, allowRoutingChange: allowRoutingChange,
                                    name: url.deletingPathExtension().lastPathComponent)
        let bytes: Int
        do {
            bytes = try withProgress { try exporter.export(manifest, from: store, to: url, progress: $0, warn: Self.warn) }
        } catch let error as HFError {
            throw CommandFailure.failed("\(error)")
        } catch let error as GGUFExportError {
            throw CommandFailure.failed("\(error)")
        }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "exported %.1f MB in %.2f s (%.0f MB/s) to %@ (%@)", Double(bytes) / 1e6, seconds,
                     Double(bytes) / 1e6 / max(seconds, 1e-9), output, fileType.rawValue))
        if toStore { print("stored \(try store.putObject(contentsOf: url))") }
    }

    /// Size of the file at `path` in bytes (0 if unreadable).
    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Bytes in "500MB", "2GB", "64KB", "1000" (decimal units, as HF's `max_shard_size`).
    static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1)]
        let upper = text.uppercased()
        for (suffix, scale) in units where upper.hasSuffix(suffix) {
            guard let value = Double(upper.dropLast(suffix.count)), value > 0 else { return nil }
            return Int(value * Double(scale))
        }
        return Int(upper).flatMap { $0 > 0 ? $0 : nil }
    }
}
