import ArgumentParser
import BTXStore
import Foundation

/// `btxpipe store ls`: action entries, refs and the manifests they reach.
struct StoreList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List action-cache entries, refs, and the manifests they point at.")

    @OptionGroup var options: StoreOptions

    func run() throws {
        let store = try options.open()
        var manifests: [ObjectHash: Manifest] = [:]
        let keys = try store.actionKeys()
        print("actions (\(keys.count)):")
        for key in keys {
            guard let entry = try store.action(key) else { print("  \(key.short)  (unreadable)"); continue }
            let record = try? store.record(entry.record)
            print("  \(key.short)  \(record?.stage ?? "?")  -> \(entry.output.short)")
            if let m = try? store.asManifest(entry.output) { manifests[entry.output] = m }
        }
        let refs = try store.refs()
        print("refs (\(refs.count)):")
        for (name, hash) in refs {
            print("  \(name)  -> \(hash.short)")
            if let m = try? store.asManifest(hash) { manifests[hash] = m }
        }
        print("manifests (\(manifests.count)):")
        for (hash, m) in manifests.sorted(by: { $0.key < $1.key }) {
            let bytes = m.tensors.values.reduce(0) { $0 + $1.byteCount }
            print("  \(hash.short)  \(m.kind)  \(m.tensors.count) tensors  \(ByteFormat.human(bytes))")
        }
    }
}
