import BTXPipeline
import BTXStore
import Foundation

/// Push and pull throughput against a remote store (e.g. nginx with WebDAV on loopback): one stage of
/// `tensors` f32 tensors of `megabytes` MiB in all is pushed from a fresh store and pulled into another.
/// Rates count compressed bytes on the wire; each push includes verifying the local objects and
/// HEAD checks, each pull verifying every download.
struct RemoteBench {
    /// The remote's base URL (a fresh prefix is used under it).
    var url: String
    /// Total tensor size in MiB.
    var megabytes = 256
    /// Number of tensors (objects).
    var tensors = 16
    /// Transfers at once.
    var parallel = 8

    func run(emit: (String) -> Void) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("btxpipe-remote-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let source = try Store(root: scratch.appendingPathComponent("a"))
        let target = try Store(root: scratch.appendingPathComponent("b"))
        let key = try makeStage(in: source)
        let remote = RemoteStore(config: try RemoteConfig(name: "bench", url: "\(url)/bench-\(UUID().uuidString)"), options: HTTPOptions())
        for (direction, store) in [("push", source), ("pull", target)] {
            let progress = TransferProgress(direction: direction, report: nil)
            let sync = RemoteSync(remote: remote, store: store, parallel: parallel, progress: progress)
            if direction == "push" { try sync.push(key) } else { _ = try sync.pull(key) }
            let done = progress.finish()
            let mibPerSecond = done.bytesPerSecond / 1_048_576
            emit(String(format: "remote %@  %4d MiB in %2d objects  x%d  %7.1f MiB/s", direction, megabytes, done.objects, parallel, mibPerSecond))
            emit(JSONValue.object(["bench": .string("remote_\(direction)"), "config": .string("\(megabytes)MiB-\(tensors)obj-x\(parallel)"),
                                   "mib_per_s": .double(mibPerSecond), "seconds": .double(done.seconds)]).canonicalText)
        }
    }

    /// A finished stage of random-looking f32 tensors (generated, so zstd cannot shrink them much).
    private func makeStage(in store: Store) throws -> ObjectHash {
        let count = megabytes * 1_048_576 / 4 / tensors
        var state: UInt64 = 0x9E3779B97F4A7C15
        var entries: [String: TensorEntry] = [:]
        for t in 0..<tensors {
            let values = (0..<count).map { _ -> Float in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(bitPattern: 0x3C00_0000 | UInt32(truncatingIfNeeded: state >> 41))
            }
            entries["t\(t)"] = try store.putTensor(values, shape: [count])
        }
        let output = try store.putManifest(Manifest(kind: "bench", tensors: entries))
        let key = ObjectHash.of("remote bench \(UUID().uuidString)")
        let record = try store.putRecord(RunRecord(stage: "bench", kind: "bench", kindVersion: 1, key: key, start: 0, end: 0,
                                                   host: "", btxpipeVersion: BTXPipeVersion.string, metrics: [:], log: nil))
        try store.recordAction(key, ActionEntry(output: output, record: record))
        return key
    }
}
