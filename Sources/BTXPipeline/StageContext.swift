import BTXStore
import Foundation

/// What a running stage sees: its store, key, parameters, input manifests and thread budget, plus the
/// channels back to the runner (log, progress, metrics, cancellation, checkpoints).
///
/// One context per stage run; the stage's `run` may call it from its own threads.
public final class StageContext: @unchecked Sendable {
    /// The store the stage reads its inputs' objects from and writes its outputs' objects to.
    public let store: Store
    /// The stage's instance name in the pipeline, e.g. "train[code]".
    public let stage: String
    /// The stage key (also names the checkpoint ref).
    public let key: ObjectHash
    /// The stage's parameters after templating.
    public let params: StageParams
    /// Input name → input manifest. A list input `experts: train[*]` appears as `experts.0`, `experts.1`, …
    /// in spec order; read it with `inputList`.
    public let inputs: [String: Manifest]
    /// Input name → hash of the input manifest (same names as `inputs`).
    public let inputHashes: [String: ObjectHash]
    /// How many threads the stage may use: the cores shared among the stages that started with it
    /// (`RunOptions.threads(concurrent:)`). Outputs must not depend on it.
    public let threads: Int

    let events: RunObserver
    let cancellation: Cancellation
    private let lock = NSLock()
    private var collectedMetrics: [String: JSONValue] = [:]
    private var logLines: [String] = []

    /// A context; the runner builds one per stage run, tests of a single kind may build their own.
    public convenience init(store: Store, stage: String, key: ObjectHash, params: StageParams,
                inputs: [String: Manifest] = [:], inputHashes: [String: ObjectHash] = [:], threads: Int = 1) {
        self.init(store: store, stage: stage, key: key, params: params, inputs: inputs, inputHashes: inputHashes,
                  threads: threads, events: SilentObserver(), cancellation: Cancellation())
    }

    init(store: Store, stage: String, key: ObjectHash, params: StageParams, inputs: [String: Manifest],
         inputHashes: [String: ObjectHash], threads: Int, events: RunObserver, cancellation: Cancellation) {
        self.store = store
        self.stage = stage
        self.key = key
        self.params = params
        self.inputs = inputs
        self.inputHashes = inputHashes
        self.threads = max(1, threads)
        self.events = events
        self.cancellation = cancellation
    }

    // MARK: inputs

    /// The input called `name`; throws `StageError.missingInput` when the spec did not give it.
    public func input(_ name: String) throws -> Manifest {
        guard let manifest = inputs[name] else { throw StageError.missingInput(name: name) }
        return manifest
    }

    /// The list input called `name` (`name.0`, `name.1`, … in order); a single input `name` gives one item.
    public func inputList(_ name: String) -> [Manifest] {
        if let single = inputs[name] { return [single] }
        return (0...).lazy.map { self.inputs["\(name).\($0)"] }.prefix { $0 != nil }.compactMap { $0 }
    }

    // MARK: reporting

    /// Appends a line to the stage's log (stored with its run record; `btxpipe log STAGE` prints it).
    public func log(_ line: String) {
        lock.lock(); logLines.append(line); lock.unlock()
        events.log(stage: stage, line: line)
    }

    /// Reports progress for the live view: `step` of `total`, plus named numbers ("loss", "tokens_per_s").
    public func progress(step: Int, total: Int, fields: [String: Double] = [:]) {
        events.progress(stage: stage, step: step, total: total, fields: fields)
    }

    /// Records a metric in the run record (last value wins).
    public func metric(_ name: String, _ value: JSONValue) {
        lock.lock(); collectedMetrics[name] = value; lock.unlock()
    }

    /// The metrics recorded so far.
    public var metrics: [String: JSONValue] { lock.lock(); defer { lock.unlock() }; return collectedMetrics }

    /// The log so far, one line per entry.
    public var logText: String { lock.lock(); defer { lock.unlock() }; return logLines.map { $0 + "\n" }.joined() }

    // MARK: cancellation and checkpoints

    /// True once Ctrl-C or SIGTERM arrived: save a checkpoint and throw `StageError.cancelled`.
    public var isCancelled: Bool { cancellation.isCancelled }

    /// Throws `StageError.cancelled` when cancelled (for stages with nothing to checkpoint).
    public func checkCancelled() throws {
        if isCancelled { throw StageError.cancelled }
    }

    /// The store ref naming this stage key's checkpoint.
    public var checkpointRef: String { "checkpoint/\(key.hex)" }

    /// Saves `manifest` (whose objects must already be in the store) as this key's checkpoint, replacing the last.
    public func saveCheckpoint(_ manifest: Manifest) throws {
        let hash = try store.putManifest(manifest)
        try store.setRef(checkpointRef, to: hash)
    }

    /// The last checkpoint saved under this key, or nil: a missing or corrupt one, or one whose objects
    /// are not all present, is treated as none and the log says so (a stage reading a checkpoint tensor
    /// that turns out damaged should do the same).
    public func loadCheckpoint() throws -> Manifest? {
        guard let hash = try store.ref(checkpointRef) else { return nil }
        guard let manifest = try? store.manifest(hash) else {
            log("checkpoint \(hash.short) unreadable; starting from scratch")
            return nil
        }
        if let missing = manifest.referencedObjects.sorted().first(where: { !store.hasObject($0) }) {
            log("checkpoint \(hash.short) lacks object \(missing.short); starting from scratch")
            return nil
        }
        return manifest
    }
}


/// A flag set once by a signal handler or a failing sibling and read by every running stage.
final class Cancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }
    func cancel() { lock.lock(); cancelled = true; lock.unlock() }
}
