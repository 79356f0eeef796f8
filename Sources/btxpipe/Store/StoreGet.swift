import ArgumentParser
import BTXPipeline
import BTXStore
import Foundation

/// `btxpipe store get HASH OUT`: a manifest becomes safetensors, any other object its bytes.
struct StoreGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Write an object out: a manifest as safetensors (sharded with --shard-size), else its raw bytes.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var verbosity: Verbosity

    @Option(help: "Write a sharded checkpoint into directory OUT, at most this many MiB of tensors per shard.")
    var shardSize: Int?

    @Argument(help: "A hash, unique hash prefix, or ref name.")
    var object: String

    @Argument(help: "The output file (or directory with --shard-size).")
    var output: String

    func validate() throws {
        if let shardSize, shardSize <= 0 { throw ValidationError("--shard-size must be positive, got \(shardSize)") }
    }

    func run() throws {
        let store = try options.open()
        let hash = try store.resolve(object)
        let url = URL(fileURLWithPath: output)
        let line = TransferLine(verbosity: verbosity)
        let progress = line.progress("store get")
        defer { line.end() }
        if let manifest = try store.asManifest(hash), !manifest.tensors.isEmpty {
            if let shardSize {
                let files = try store.exportShardedSafetensors(manifest, to: url, maxShardBytes: shardSize << 20, progress: progress)
                progress.finish()
                line.end()
                print("wrote \(manifest.tensors.count) tensors in \(files.count) shards to \(output)")
            } else {
                try store.exportSafetensors(manifest, to: url, progress: progress)
                progress.finish()
                line.end()
                print("wrote \(manifest.tensors.count) tensors to \(output)")
            }
        } else {
            try store.copyObject(hash, to: url)
            print("wrote \(ByteFormat.human(try store.objectLength(hash))) to \(output)")
        }
    }
}
