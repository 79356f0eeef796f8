import BTXModel
import BTXStages
import BTXStore
import Foundation

/// Hugging Face interop speed: export of a random dense Llama from the store to an HF directory
/// (sharded f32), then import of that directory back into a fresh store, in MB/s of tensor bytes,
/// with the process's peak RSS after each (import streams tensor by tensor, so its RSS should stay
/// near a few of the largest tensors above the baseline).
///
/// NOTE: self-contained until the shared `BenchReport` helper lands; `emit` prints each row and JSON line.
struct HFBench {
    /// Model size: hidden 1024, 12 layers, vocab 32000 (≈ 780 MB f32) by default.
    var hidden = 1024, layers = 12, vocab = 32000
    /// Shard size of the export.
    var shardBytes = 200_000_000
    /// Scratch directory (removed afterwards).
    var scratch = FileManager.default.temporaryDirectory.appendingPathComponent("btxpipe-hfbench-\(getpid())")

    func run(emit: (String) -> Void) throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let config = try LlamaConfig(hiddenSize: hidden, intermediateSize: hidden * 8 / 3 / 64 * 64, numHiddenLayers: layers,
                                     numAttentionHeads: hidden / 64, numKeyValueHeads: max(1, hidden / 256), vocabSize: vocab)
        let source = try Store(root: scratch.appendingPathComponent("source"))
        var manifest = Manifest(kind: "model", metadata: ["config": try ModelArchitecture(llama: config).configJSON()])
        do {
            let parameters = ParameterSet(layout: LlamaParameters.layout(config))
            LlamaParameters.initialize(parameters, seed: 1)
            for e in parameters.entries {
                let bytes = UnsafeRawBufferPointer(start: parameters.storage + e.offset, count: e.count * 4)
                manifest.tensors[e.name] = try source.putTensor(bytes, dtype: .f32, shape: e.shape)
            }
        }
        let mb = Double(manifest.tensors.values.reduce(0) { $0 + $1.byteCount }) / 1e6
        let label = "L\(layers)-C\(hidden)-V\(vocab)"
        let directory = scratch.appendingPathComponent("hf")
        var start = Date()
        try HFExporter(shardBytes: shardBytes).export(manifest, from: source, to: directory)
        let exportSeconds = Date().timeIntervalSince(start)
        let exportRSS = HFBench.peakRSSMiB()
        emit(String(format: "hf export  %7.1f MB  %7.1f MB/s  peak RSS %6.0f MiB", mb, mb / exportSeconds, exportRSS))
        emit(json(["bench": "hf_export", "config": .string(label), "mb": .double(mb), "mb_per_s": .double(mb / exportSeconds),
                   "rss_mib": .double(exportRSS)]))
        start = Date()
        let imported = try HFImporter.importModel(directory, into: try Store(root: scratch.appendingPathComponent("target")))
        let importSeconds = Date().timeIntervalSince(start)
        let importRSS = HFBench.peakRSSMiB()
        precondition(imported.tensors == manifest.tensors, "import of the export differs")
        emit(String(format: "hf import  %7.1f MB  %7.1f MB/s  peak RSS %6.0f MiB", mb, mb / importSeconds, importRSS))
        emit(json(["bench": "hf_import", "config": .string(label), "mb": .double(mb), "mb_per_s": .double(mb / importSeconds),
                   "rss_mib": .double(importRSS)]))
    }

    /// Peak resident set of this process so far.
    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    private func json(_ fields: [String: JSONValue]) -> String { JSONValue.object(fields).canonicalText }
}
