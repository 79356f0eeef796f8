import BTXModel
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// The golden Hugging Face fixtures of `Tests/Fixtures/hf` (made by `make_fixtures.py`).
enum HFFixtures {
    /// The fixture directory.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hf")
    /// The fixture models.
    static let names = ["llama-tied", "llama-untied", "mixtral"]

    static func directory(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// The token sequences transformers ran.
    static func tokens(_ name: String) throws -> [[Int32]] {
        let data = try Data(contentsOf: directory(name).appendingPathComponent("tokens.json"))
        return try JSONDecoder().decode([[Int32]].self, from: data)
    }

    /// The logits transformers computed, `[S, T, V]` flat.
    static func logits(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: directory(name).appendingPathComponent("logits.f32"))
        return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.load(fromByteOffset: $0 * 4, as: UInt32.self))) } }
    }

    /// Copies fixture `name`'s checkpoint files (not the golden outputs) into `dir/name`, editing
    /// `config.json` with `edit`, for refusal tests.
    static func copy(_ name: String, to dir: TemporaryDirectory, edit: (inout [String: JSONValue]) -> Void = { _ in }) throws -> URL {
        let out = dir.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: directory(name).path)
        where file.hasSuffix(".safetensors") || file.hasSuffix(".json") && file != "tokens.json" {
            try FileManager.default.copyItem(at: directory(name).appendingPathComponent(file), to: out.appendingPathComponent(file))
        }
        let configURL = out.appendingPathComponent("config.json")
        var config = try XCTUnwrap(JSONValue.parse(Data(contentsOf: configURL)).objectValue)
        edit(&config)
        try Data(JSONValue.object(config).canonicalText.utf8).write(to: configURL)
        return out
    }

    /// Largest |a - b|.
    static func maxError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
