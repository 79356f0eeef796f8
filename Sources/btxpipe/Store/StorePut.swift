import ArgumentParser
import BTXStore
import Foundation

/// `btxpipe store put FILE…`: safetensors become manifests; other files become plain objects.
struct StorePut: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Store files: *.safetensors or *.safetensors.index.json as a manifest, anything else as one object.",
        discussion: "Prints one line per file: the hash, then the file. Use --pin to keep the result from gc.")

    @OptionGroup var options: StoreOptions

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
        for path in files {
            let url = URL(fileURLWithPath: path)
            let hash: ObjectHash
            if path.hasSuffix(".safetensors") || path.hasSuffix(".safetensors.index.json") {
                let manifest = try store.importSafetensors(url)
                hash = try store.putManifest(manifest)
                print("\(hash.hex)  \(path)  (manifest, \(manifest.tensors.count) tensors)")
            } else {
                hash = try store.putObject(contentsOf: url)
                print("\(hash.hex)  \(path)")
            }
            if let pin { try store.setCompleteRef("pin/\(pin)", to: hash) }
        }
    }
}
