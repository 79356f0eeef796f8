import BTXModel
import BTXStages
import BTXStore
import Foundation

/// Hugging Face interop speed: export of a random dense Llama from the store to an HF directory
/// (f32, sharded at 200 MB), then import of that directory into a fresh store, in MB/s of tensor
/// bytes and CPU seconds, with the process's peak RSS after each. Import streams tensor by tensor,
/// so its RSS stays near a few of the largest tensors, not the checkpoint.
struct HFBench: BenchSuite {
    static let name = "hf"

    func run(quick: Bool, emit: (BenchReport) -> Void) throws {
        // Full: hidden 1024, 12 layers, vocab 32000 ≈ 784 MB f32 (the ≥ 500 MB checkpoint of issue 9).
        let (hidden, layers, vocab) = quick ? (128, 2, 1000) : (1024, 12, 32000)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("btxpipe-hfbench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let config = try LlamaConfig(hiddenSize: hidden, intermediateSize: hidden * 8 / 3 / 64 * 64, numHiddenLayers: layers,
                                     numAttentionHeads: hidden / 64, numKeyValueHeads: max(1, hidden / 256), vocabSize: vocab)
        let source = try Store(root: scratch.appendingPathComponent("source"))
        let manifest = try Self.randomModel(config, store: source)
        let mb = Double(manifest.tensors.values.reduce(0) { $0 + $1.byteCount }) / 1e6
        let label = "L\(layers)-C\(hidden)-V\(vocab)"
        let directory = scratch.appendingPathComponent("hf")
        var cpu = BenchReport.cpuSeconds()
        let exportSeconds = try BenchReport.time {
            try HFExporter(shardBytes: 200_000_000).export(manifest, from: source, to: directory)
        }
        emit(BenchReport(bench: "hf_export", config: label, fields: [
            ("mb", mb), ("mb_per_s", mb / exportSeconds), ("cpu_s", BenchReport.cpuSeconds() - cpu), ("rss_mib", BenchReport.peakRSSMiB())]))
        cpu = BenchReport.cpuSeconds()
        var imported = Manifest(kind: "model")
        let importSeconds = try BenchReport.time {
            imported = try HFImporter.importModel(directory, into: try Store(root: scratch.appendingPathComponent("target")))
        }
        guard imported.tensors == manifest.tensors else { throw HFError.badTensors("the import of the export differs") }
        emit(BenchReport(bench: "hf_import", config: label, fields: [
            ("mb", mb), ("mb_per_s", mb / importSeconds), ("cpu_s", BenchReport.cpuSeconds() - cpu), ("rss_mib", BenchReport.peakRSSMiB())]))
    }

    /// A seeded random dense model stored tensor by tensor.
    static func randomModel(_ config: LlamaConfig, store: Store) throws -> Manifest {
        try randomModel(ModelArchitecture(llama: config), store: store)
    }

    /// A seeded random dense or MoE model stored tensor by tensor (its parameter memory freed on return).
    static func randomModel(_ architecture: ModelArchitecture, store: Store) throws -> Manifest {
        var manifest = Manifest(kind: "model", metadata: ["config": try architecture.configJSON()])
        let parameters = ParameterSet(layout: architecture.layout)
        LlamaParameters.initialize(parameters, seed: 1)
        for e in parameters.entries {
            let bytes = UnsafeRawBufferPointer(start: parameters.storage + e.offset, count: e.count * 4)
            manifest.tensors[e.name] = try store.putTensor(bytes, dtype: .f32, shape: e.shape)
        }
        return manifest
    }
}
