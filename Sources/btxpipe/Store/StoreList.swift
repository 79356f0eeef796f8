import ArgumentParser
import BTXStore
import Foundation

/// `btxpipe store ls`: action entries, refs and the manifests they reach.
struct StoreList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List action-cache entries, refs, and the manifests they point at.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let store = try options.open()
        var manifests: [ObjectHash: Manifest] = [:]
        var actions: [(key: ObjectHash, stage: String?, output: ObjectHash?)] = []
        for key in try store.actionKeys() {
            guard let entry = try store.action(key) else { actions.append((key, nil, nil)); continue }
            actions.append((key, (try? store.record(entry.record))?.stage, entry.output))
            if let m = try? store.asManifest(entry.output) { manifests[entry.output] = m }
        }
        let refs = try store.refs()
        for (_, hash) in refs { if let m = try? store.asManifest(hash) { manifests[hash] = m } }
        let sorted = manifests.sorted(by: { $0.key < $1.key })
        if output.json {
            return output.print(.object([
                "actions": .array(actions.map { action in
                    .object(["key": .string(action.key.hex), "stage": action.stage.map(JSONValue.string) ?? .null,
                             "output": action.output.map { JSONValue.string($0.hex) } ?? .null])
                }),
                "refs": .object(Dictionary(refs.map { ($0.name, JSONValue.string($0.hash.hex)) }, uniquingKeysWith: { a, _ in a })),
                "manifests": .array(sorted.map { hash, m in
                    .object(["hash": .string(hash.hex), "kind": .string(m.kind), "tensors": .int(Int64(m.tensors.count)),
                             "tensorBytes": .int(Int64(m.tensors.values.reduce(0) { $0 + $1.byteCount }))])
                }),
            ]))
        }
        print("actions (\(actions.count)):")
        for action in actions {
            guard let target = action.output else { print("  \(action.key.short)  (unreadable)"); continue }
            print("  \(action.key.short)  \(action.stage ?? "?")  -> \(target.short)")
        }
        print("refs (\(refs.count)):")
        for (name, hash) in refs { print("  \(name)  -> \(hash.short)") }
        print("manifests (\(manifests.count)):")
        for (hash, m) in sorted {
            let bytes = m.tensors.values.reduce(0) { $0 + $1.byteCount }
            print("  \(hash.short)  \(m.kind)  \(m.tensors.count) tensors  \(ByteFormat.human(bytes))")
        }
    }
}
