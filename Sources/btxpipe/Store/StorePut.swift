import ArgumentParser
import BTXPipeline
import BTXStore
import Foundation

/// `btxpipe store put FILE…`: safetensors become manifests; other files become plain objects.
struct StorePut: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Store files: *.safetensors or *.safetensors.index.json as a manifest, anything else as one object.",
        discussion: "Prints one line per file: the hash, then the file. Use --pin to keep the result from gc.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var verbosity: Verbosity

    @Option(help: "Also set ref pin/NAME to the result (one file only).")
    var pin: String?

    @Argument(help: "Files to store.")
    var files: [String]

    func validate() throws {
        if pin != nil, files.count != 1 { throw ValidationError("--pin needs exactly one file") }
    }

    func run() throws {
        let store = try options.open()
        let lock = try store.lockShared()   // no gc between writing the objects and pinning them
        defer { lock.release() }
        let line = TransferLine(verbosity: verbosity)
        let progress = line.progress("store put")
        let sizes = files.map { Int64(Export.fileSize($0)) }
        progress.expect(objects: files.count, bytes: sizes.reduce(0, +))
        defer { line.end() }
        for (path, size) in zip(files, sizes) {
            let url = URL(fileURLWithPath: path)
            let hash: ObjectHash
            if path.hasSuffix(".safetensors") || path.hasSuffix(".safetensors.index.json") {
                let manifest = try store.importSafetensors(url)
                hash = try store.putManifest(manifest)
                line.end()
                print("\(hash.hex)  \(path)  (manifest, \(manifest.tensors.count) tensors)")
            } else {
                hash = try store.putObject(contentsOf: url)
                line.end()
                print("\(hash.hex)  \(path)")
            }
            if let pin { try store.setCompleteRef("pin/\(pin)", to: hash) }
            progress.add(bytes: size)
        }
    }
}
