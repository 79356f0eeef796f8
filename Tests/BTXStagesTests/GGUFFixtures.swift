@testable import BTXStages
import Foundation
import TestSupport
import XCTest

/// The GGUF fixtures of `Tests/Fixtures/gguf` (made by its `make_fixtures.py` with the `gguf` package
/// and transformers), and the real SmolLM2 GGUF that `make smollm2` fetches.
enum GGUFFixtures {
    /// The fixture directory.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf")

    static func url(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// A JSON fixture as Foundation objects (numbers as NSNumber keep u64 and f64 exact).
    static func json(_ name: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url(name))) as? [String: Any])
    }

    /// Floats of a JSON array (each a float32 written by Python as a double: exact).
    static func floats(_ value: Any?) throws -> [Float] {
        try XCTUnwrap(value as? [NSNumber]).map { Float($0.doubleValue) }
    }

    /// A copy of fixture `name` in `dir` with `edit` applied to its bytes.
    static func edited(_ name: String, in dir: TemporaryDirectory, as output: String = "edited.gguf",
                       _ edit: (inout [UInt8]) throws -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: url(name)))
        try edit(&bytes)
        let path = dir.path(output)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The offset of the first occurrence of `text`'s UTF-8 bytes in `bytes`.
    static func offset(of text: String, in bytes: [UInt8]) throws -> Int {
        let needle = Array(text.utf8)
        return try XCTUnwrap((0...(bytes.count - needle.count)).first { bytes[$0..<$0 + needle.count].elementsEqual(needle) },
                             "\(text) not in the file")
    }

    /// The real SmolLM2-135M-Instruct GGUF (`BTXPIPE_SMOLLM2_GGUF`, set by `make test`) and the
    /// directory of its goldens; skips when unset outside `make test`, fails under it.
    static func smollm2() throws -> (gguf: URL, golden: URL) {
        let path = ProcessInfo.processInfo.environment["BTXPIPE_SMOLLM2_GGUF"] ?? ""
        let golden = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("golden")
        guard !path.isEmpty, FileManager.default.fileExists(atPath: path),
              FileManager.default.fileExists(atPath: golden.appendingPathComponent("golden.json").path) else {
            let why = "BTXPIPE_SMOLLM2_GGUF does not name the SmolLM2 GGUF with its goldens beside it (run `make smollm2`)"
            if ReferencePython.required { throw ReferenceStackMissing(why: why) }
            throw XCTSkip("SKIPPED (SmolLM2 missing): \(why)")
        }
        return (URL(fileURLWithPath: path), golden)
    }

    /// Raw little-endian f32 values of a file.
    static func rawFloats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
