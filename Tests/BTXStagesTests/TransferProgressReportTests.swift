@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// Import and export report their progress: every report's bytes and objects grow, and the last one
/// reaches the totals announced before the first tensor moved.
final class TransferProgressReportTests: XCTestCase {
    /// A progress counter that reports every tensor, and what it reported.
    private final class Recorder: @unchecked Sendable {
        var reports: [TransferProgress.Snapshot] = []
        lazy var progress = TransferProgress(direction: "test", interval: 0) { [unowned self] in reports.append($0) }

        /// Checks the reports climb to the totals; returns the total bytes.
        @discardableResult
        func check(_ what: String, file: StaticString = #filePath, line: UInt = #line) -> Int64 {
            let last = progress.finish()
            XCTAssertGreaterThan(reports.count, 2, "\(what): one report per tensor", file: file, line: line)
            for (a, b) in zip(reports, reports.dropFirst()) {
                XCTAssertLessThanOrEqual(a.bytes, b.bytes, "\(what): bytes go down", file: file, line: line)
                XCTAssertLessThanOrEqual(a.objects, b.objects, "\(what): objects go down", file: file, line: line)
                XCTAssertEqual(a.totalBytes, b.totalBytes, "\(what): the total changed", file: file, line: line)
            }
            XCTAssertEqual(last.totalObjects, last.objects, "\(what): objects end at the total", file: file, line: line)
            XCTAssertEqual(last.totalBytes, last.bytes, "\(what): bytes end at the total", file: file, line: line)
            XCTAssertEqual(reports.last?.bytes, last.bytes, file: file, line: line)
            return last.bytes
        }
    }

    func testHFExportAndImportReportTensorBytesUpToTheirTotals() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let model = try GGUFTestModels.dense(store, tokenizer: try GGUFTestModels.tokenizer())
        let modelBytes = Int64(model.tensors.values.reduce(0) { $0 + $1.byteCount })
        for (name, shard) in [("single", 1 << 30), ("sharded", 4096)] {
            let out = dir.url.appendingPathComponent(name)
            let exported = Recorder()
            let files = try HFExporter(shardBytes: shard).export(model, from: store, to: out, progress: exported.progress)
            XCTAssertEqual(exported.check("\(name) export"), modelBytes)
            XCTAssertEqual(files.contains("model.safetensors.index.json"), name == "sharded")
            let imported = Recorder()
            _ = try HFImporter.importModel(out, into: store, progress: imported.progress)
            XCTAssertEqual(imported.check("\(name) import"), modelBytes, "the import reads what the export wrote")
        }
    }

    func testGGUFExportAndImportReportTheFilesTensorBytesUpToTheirTotals() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let dense = try GGUFTestModels.dense(store, tokenizer: try GGUFTestModels.tokenizer())
        for (i, model) in [dense, try GGUFTestModels.moe(store, dense: dense)].enumerated() {
            let url = dir.url.appendingPathComponent("m\(i).gguf")
            let exported = Recorder()
            let fileBytes = try GGUFExporter(fileType: .q8_0).export(model, from: store, to: url, progress: exported.progress)
            let tensorBytes = exported.check("gguf export \(i)")
            XCTAssertLessThan(tensorBytes, Int64(fileBytes), "tensor data is the file less its header")
            let imported = Recorder()
            _ = try GGUFImporter.importModel(url, into: store, progress: imported.progress)
            XCTAssertEqual(imported.check("gguf import \(i)"), tensorBytes)
            XCTAssertEqual(imported.reports.last?.objects, exported.reports.last?.objects, "one object per GGUF tensor")
        }
    }
}
