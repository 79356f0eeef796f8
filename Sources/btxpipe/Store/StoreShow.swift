import ArgumentParser
import BTXStore
import Foundation

/// `btxpipe store show X` (alias `cat`): a manifest, run record or action entry for humans;
/// any other object's bytes as they are.
struct StoreShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a manifest, run record or action entry readably; print any other object's bytes.",
        aliases: ["cat"])

    @OptionGroup var options: StoreOptions

    @Argument(help: "A hash, unique hash prefix, action key, or ref name.")
    var object: String

    func run() throws {
        let store = try options.open()
        let hash = try store.resolve(object)
        if !store.hasObject(hash), let entry = try store.action(hash) {
            print("action \(hash.hex)")
            print("output:  \(entry.output.hex)")
            print("record:  \(entry.record.hex)")
            try printRecord(store.record(entry.record))
            print("")
            try printManifest(store.manifest(entry.output), hash: entry.output)
        } else if let manifest = try store.asManifest(hash) {
            printManifest(manifest, hash: hash)
        } else if store.hasObject(hash), try store.objectLength(hash) < 1 << 20,
                  let record = try? RunRecord(jsonData: store.object(hash)) {
            printRecord(record)
        } else {
            FileHandle.standardOutput.write(try store.object(hash))
        }
    }

    private func printManifest(_ manifest: Manifest, hash: ObjectHash) {
        print("manifest \(hash.hex)")
        print("kind:    \(manifest.kind)")
        let total = manifest.tensors.values.reduce(0) { $0 + $1.byteCount }
        print("tensors: \(manifest.tensors.count) (\(ByteFormat.human(total)))")
        let width = manifest.tensors.keys.map(\.count).max() ?? 0
        for name in manifest.tensors.keys.sorted() {
            let t = manifest.tensors[name]!
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            print("  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(t.dtype.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(shape.padding(toLength: 16, withPad: " ", startingAt: 0))  \(ByteFormat.human(t.byteCount).padding(toLength: 10, withPad: " ", startingAt: 0))  \(t.object.short)")
        }
        if !manifest.objects.isEmpty { print("objects:") }
        for (name, object) in manifest.objects.sorted(by: { $0.key < $1.key }) { print("  \(name)  \(object.short)") }
        if !manifest.metadata.isEmpty { print("metadata:") }
        for (key, value) in manifest.metadata.sorted(by: { $0.key < $1.key }) { print("  \(key): \(value.canonicalText)") }
    }

    private func printRecord(_ record: RunRecord) {
        print("stage:   \(record.stage) (\(record.kind) v\(record.kindVersion), btxpipe \(record.btxpipeVersion), host \(record.host))")
        print(String(format: "time:    %.1f s", record.seconds))
        for (key, value) in record.metrics.sorted(by: { $0.key < $1.key }) { print("  \(key): \(value.canonicalText)") }
        if let log = record.log { print("log:     \(log.hex)") }
    }
}
