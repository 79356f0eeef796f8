@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// btxpipe's own GGUF writer read back by its own reader: `export --format gguf` then `import gguf`.
final class GGUFRoundTripTests: XCTestCase {
    private func models(_ store: Store) throws -> [Manifest] {
        let dense = try GGUFTestModels.dense(store, tokenizer: try GGUFTestModels.tokenizer())
        return [dense, try GGUFTestModels.moe(store, dense: dense),
                try GGUFTestModels.dense(store, tokenizer: try GGUFTestModels.tokenizer(), tied: true)]
    }

    /// Exports `model` as `type`, imports the file into `store`; returns the imported manifest and
    /// each store tensor's planned GGUF type.
    private func roundTrip(_ model: Manifest, _ type: GGUFExporter.FileType, store: Store, in dir: TemporaryDirectory,
                           name: String) throws -> (Manifest, [String: GGMLType]) {
        let url = dir.url.appendingPathComponent("\(name).gguf")
        let exporter = GGUFExporter(fileType: type)
        try exporter.export(model, from: store, to: url)
        var types: [String: GGMLType] = [:]
        for p in try exporter.plan(try ModelArchitecture(model), manifest: model) {
            for source in p.sources { types[source] = p.tensor.type }
        }
        return (try GGUFImporter.importModel(url, into: store), types)
    }

    func testAnF32ExportImportsBackToBitwiseTheSameTensorsAndLogits() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let tokens: [[Int32]] = [[1, 7, 42, 3, 99, 5, 250, 12], [8, 8, 0, 1, 2, 3, 4, 5]]
        for (i, model) in try models(store).enumerated() {
            let (imported, _) = try roundTrip(model, .f32, store: store, in: dir, name: "m\(i)")
            XCTAssertEqual(Set(imported.tensors.keys), Set(model.tensors.keys), "model \(i): tensor names")
            for (name, entry) in model.tensors {
                let back = try XCTUnwrap(imported.tensors[name], "model \(i): \(name) missing")
                XCTAssertEqual(back.shape, entry.shape, "model \(i): \(name) shape")
                XCTAssertEqual(try store.floats(back), try store.floats(entry), "model \(i): \(name) is not bitwise the source")
            }
            XCTAssertEqual(try ModelWeights(imported, store: store).logits(tokens), try ModelWeights(model, store: store).logits(tokens),
                           "model \(i): logits differ")
            XCTAssertEqual(try HFTokenizerFile.tokenizer(imported, store: store)?.vocabSize,
                           try HFTokenizerFile.tokenizer(model, store: store)?.vocabSize, "model \(i): vocabulary")
        }
    }

    /// The stated bounds per element x of a 32-block with absolute maximum amax (as GGUFExporterTests):
    /// f16 |e| ≤ 2⁻¹¹|x| + 2⁻²⁴, q8_0 |e| ≤ 0.57·amax/127; tensors kept f32 (norms, routers) are exact.
    func testF16AndQ8_0ExportsImportBackWithinTheirQuantizationError() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let model = try models(store)[1]
        for type in [GGUFExporter.FileType.f16, .q8_0] {
            let (imported, types) = try roundTrip(model, type, store: store, in: dir, name: "\(type)")
            for (name, entry) in model.tensors {
                let x = try store.floats(entry), got = try store.floats(try XCTUnwrap(imported.tensors[name]))
                let planned = try XCTUnwrap(types[name], name)
                for b in stride(from: 0, to: x.count, by: 32) {
                    let block = b..<min(b + 32, x.count)
                    let amax = Double(x[block].map(abs).max()!)
                    for j in block {
                        let bound: Double
                        switch planned {
                        case .f32: bound = 0
                        case .f16: bound = Double(abs(x[j])) / 2048 + 0x1p-24
                        default: bound = 0.57 * amax / 127
                        }
                        XCTAssertLessThanOrEqual(Double(abs(x[j] - got[j])), bound, "\(type) \(name)[\(j)]")
                        if Double(abs(x[j] - got[j])) > bound { return }
                    }
                }
            }
        }
    }
}
