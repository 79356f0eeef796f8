import BTXData
import BTXModel
@testable import BTXStages
import BTXStore
import BTXTensor
import Foundation
import TestSupport
import XCTest

/// GGUF exports checked by llama.cpp's own Python reader and converter (gguf-py, convert_hf_to_gguf.py).
final class GGUFExporterTests: XCTestCase {
    /// The store tensor(s) a GGUF tensor holds, in the file's order (Q/K rows permuted, experts stacked).
    private func expected(_ planned: GGUFExporter.Planned, _ manifest: Manifest, _ store: Store) throws -> [Float] {
        try planned.sources.flatMap { name -> [Float] in
            let entry = manifest.tensors[name]!
            let values = try store.floats(entry)
            guard let heads = planned.permuteHeads else { return values }
            return LlamaRoPEPermutation.toGGUF(values, rows: entry.shape[0], cols: entry.shape[1], heads: heads)
        }
    }

    private func models(_ store: Store) throws -> [Manifest] {
        let dense = try GGUFTestModels.dense(store, tokenizer: try GGUFTestModels.tokenizer())
        return [dense, try GGUFTestModels.moe(store, dense: dense)]
    }

    func testAnF32ExportHoldsBitwiseTheSourceTensorsInLlamaCppsLayout() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        for (i, model) in try models(store).enumerated() {
            let url = dir.url.appendingPathComponent("m\(i).gguf")
            let exporter = GGUFExporter(fileType: .f32)
            try exporter.export(model, from: store, to: url)
            let read = try GGUFTestModels.dequantized(url, in: dir)
            let planned = try exporter.plan(try ModelArchitecture(model), manifest: model)
            XCTAssertEqual(Set(read.keys), Set(planned.map(\.tensor.name)))
            for p in planned {
                XCTAssertEqual(read[p.tensor.name], try expected(p, model, store), "\(p.tensor.name) is not bitwise the source")
            }
        }
    }

    /// Stated bounds, per element x of a 32-block with absolute maximum amax: f16 |e| ≤ 2⁻¹¹|x| + 2⁻²⁴;
    /// q8_0 |e| ≤ 0.57·amax/127 (half a step plus the f16 rounding of the scale, 127·2⁻¹¹ steps);
    /// q4_0 |e| ≤ (1 + 2⁻⁸)·amax/8 (one step where +8 clips to 7, plus the scale's f16 rounding).
    func testF16Q8_0AndQ4_0ExportsStayWithinTheirStatedErrorBounds() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let model = try models(store)[1]
        for type in [GGUFExporter.FileType.f16, .q8_0, .q4_0] {
            let url = dir.url.appendingPathComponent("\(type).gguf")
            let exporter = GGUFExporter(fileType: type)
            try exporter.export(model, from: store, to: url)
            let read = try GGUFTestModels.dequantized(url, in: dir)
            var worst: Double = 0
            for p in try exporter.plan(try ModelArchitecture(model), manifest: model) {
                let x = try expected(p, model, store), got = try XCTUnwrap(read[p.tensor.name])
                XCTAssertEqual(p.tensor.type, p.tensor.shape.count == 1 || p.tensor.name.hasSuffix("ffn_gate_inp.weight") ? .f32 : type.ggml)
                for b in stride(from: 0, to: x.count, by: 32) {
                    let block = b..<min(b + 32, x.count)
                    let amax = Double(x[block].map(abs).max()!)
                    for j in block {
                        let e = Double(abs(x[j] - got[j]))
                        let bound: Double
                        switch p.tensor.type {
                        case .f32: bound = 0
                        case .f16: bound = Double(abs(x[j])) / 2048 + 0x1p-24
                        case .q8_0: bound = 0.57 * amax / 127
                        default: bound = (1 + 1.0 / 256) * amax / 8
                        }
                        worst = max(worst, amax > 0 ? e / amax : 0)
                        XCTAssertLessThanOrEqual(e, bound, "\(type) \(p.tensor.name)[\(j)]: \(x[j]) read back as \(got[j])")
                        if e > bound { return }
                    }
                }
            }
            print("GGUF \(type): worst |error| / block amax = \(worst)")
        }
    }

    /// Keys btxpipe writes differently from the converter, on purpose: `general.size_label` and the
    /// names the converter derives from the directory (`general.name`, `general.basename`…) are
    /// cosmetic (so is the key count they change); everything llama.cpp reads to run the model is compared.
    static let acceptedKeyDifferences: Set<String> = ["general.size_label", "general.basename", "general.finetune", "general.name",
                                                      "general.version", "general.quantized_by", "general.organization", "GGUF.kv_count"]

    func testExportsMatchWhatLlamaCppsConverterWritesFromTheHFExportOfTheSameModel() throws {
        let llamaCpp = try GGUFTestModels.llamaCpp()
        _ = try ReferencePython.python(importing: ["gguf", "torch", "transformers", "sentencepiece"])
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        // NOTE: one converter run per model (torch + transformers start slowly): dense f32, MoE q8_0.
        for (i, model) in try models(store).enumerated() {
            let hf = dir.url.appendingPathComponent("hf\(i)")
            try HFExporter(dtype: .f32).export(model, from: store, to: hf)
            for type in [i == 0 ? GGUFExporter.FileType.f32 : .q8_0] {
                let theirs = dir.url.appendingPathComponent("theirs\(i)-\(type).gguf"), mine = dir.url.appendingPathComponent("mine\(i)-\(type).gguf")
                _ = try GGUFTestModels.reference("convert", [llamaCpp.path, hf.path, theirs.path, type.rawValue],
                                                 modules: ["gguf", "torch", "transformers"])
                try GGUFExporter(fileType: type).export(model, from: store, to: mine)
                let (a, b) = (try GGUFTestModels.dump(mine), try GGUFTestModels.dump(theirs))
                func tensors(_ d: JSONValue) -> [String: String] {
                    Dictionary(uniqueKeysWithValues: (d["tensors"]?.arrayValue ?? []).map {
                        ($0["name"]!.stringValue!, "\($0["shape"]!.canonicalText) \($0["type"]!.stringValue!)")
                    })
                }
                XCTAssertEqual(tensors(a), tensors(b), "model \(i) \(type): tensor names, shapes, types")
                let (ma, mb) = (a["metadata"]!.objectValue!, b["metadata"]!.objectValue!)
                let keys = Set(ma.keys).union(mb.keys).subtracting(Self.acceptedKeyDifferences)
                for key in keys.sorted() {
                    XCTAssertEqual(ma[key], mb[key], "model \(i) \(type): metadata \(key) (type and value)")
                }
                let (da, db) = (try GGUFTestModels.dequantized(mine, in: dir), try GGUFTestModels.dequantized(theirs, in: dir))
                for (name, values) in da { XCTAssertEqual(values, db[name], "model \(i) \(type): \(name) values") }
            }
        }
    }

    func testRoutingLlamaCppComputesDifferentlyIsRefusedUnlessAllowedThenWarned() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let dense = try GGUFTestModels.dense(store, tokenizer: try GGUFTestModels.tokenizer())
        let moe = try GGUFTestModels.moe(store, dense: dense, routing: "switch")
        let url = dir.url.appendingPathComponent("s.gguf")
        XCTAssertThrowsError(try GGUFExporter().export(moe, from: store, to: url)) {
            XCTAssertTrue("\($0)".contains("--allow-routing-change"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        var warnings: [String] = []
        try GGUFExporter(allowRoutingChange: true).export(moe, from: store, to: url) { warnings.append($0) }
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("Switch top-1"), warnings[0])
    }

    func testADivergedModelIsRefusedNamingTheTensorAndNoFileAppears() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var dense = try GGUFTestModels.dense(store, tokenizer: try GGUFTestModels.tokenizer())
        let name = "model.layers.1.mlp.up_proj.weight"
        var values = try store.floats(dense.tensors[name]!)
        values[5] = .nan
        dense.tensors[name] = try store.putTensor(values, shape: dense.tensors[name]!.shape)
        let url = dir.url.appendingPathComponent("d.gguf")
        XCTAssertThrowsError(try GGUFExporter(fileType: .q8_0).export(dense, from: store, to: url)) {
            XCTAssertEqual("\($0)", "tensor \(name): holds NaN or infinite values (the model diverged?)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    /// Streaming: exporting a model of 40 MB whose largest tensor is 16 MiB (f32) raises this
    /// process's peak RSS by at most that tensor plus a small constant (24 MiB: the store's decode
    /// buffers, 1 MiB conversion chunk, 1 MiB write buffer, the header).
    func testExportPeakMemoryIsTheLargestTensorPlusASmallConstant() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let config = try LlamaConfig(hiddenSize: 512, intermediateSize: 1024, numHiddenLayers: 1, numAttentionHeads: 8,
                                     vocabSize: 8192, maxPositionEmbeddings: 64)
        let architecture = ModelArchitecture(llama: config)
        var model = Manifest(kind: "model", metadata: ["config": try architecture.configJSON()])
        var rng = SplitMix64(seed: 5)
        for (name, shape) in architecture.layout {
            model.tensors[name] = try store.putTensor((0..<shape.reduce(1, *)).map { _ in Float(rng.nextNormal()) }, shape: shape)
        }
        let largest = Double(model.tensors.values.map(\.byteCount).max()!) / 1_048_576
        for type in [GGUFExporter.FileType.f32, .q8_0] {
            try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
            let baseline = ProcessStatus.mebibytes("VmRSS:")
            try GGUFExporter(fileType: type).export(model, from: store, to: dir.url.appendingPathComponent("big-\(type).gguf"))
            let growth = ProcessStatus.mebibytes("VmHWM:") - baseline
            print("GGUF export \(type): peak RSS +\(growth) MiB, largest tensor \(largest) MiB")
            XCTAssertLessThanOrEqual(growth, largest + 24, "\(type): the export does not stream")
        }
    }
}
