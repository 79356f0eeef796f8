import Foundation
import XCTest

/// The Python reference stack (torch, transformers, tokenizers, gguf, …) that `make test` builds in
/// `.build/hf-venv` and names in `BTXPIPE_HF_PYTHON`.
///
/// NOTE: a reference check that silently skips is not a check. Outside `make test` a missing stack
/// is a loud skip; under `make test` (`BTXPIPE_REQUIRE_REFERENCE=1`, so in CI) it is a failure.
public enum ReferencePython {
    /// Whether a missing reference stack fails the test instead of skipping it.
    public static var required: Bool { ProcessInfo.processInfo.environment["BTXPIPE_REQUIRE_REFERENCE"] == "1" }

    /// The reference python, after checking that it can `import` each of `modules`.
    public static func python(importing modules: [String] = ["torch", "transformers"]) throws -> URL {
        let path = ProcessInfo.processInfo.environment["BTXPIPE_HF_PYTHON"] ?? ""
        guard !path.isEmpty, FileManager.default.isExecutableFile(atPath: path) else {
            return try missing("BTXPIPE_HF_PYTHON is not set to a python (make test builds .build/hf-venv)")
        }
        let url = URL(fileURLWithPath: path)
        let check = try runProcess(url, ["-c", "import " + modules.joined(separator: ", ")])
        guard check.status == 0 else {
            return try missing("\(path) cannot import \(modules.joined(separator: ", ")): \(check.stderr.split(separator: "\n").last ?? "")")
        }
        return url
    }

    private static func missing(_ why: String) throws -> URL {
        if required { throw ReferenceStackMissing(why: why) }
        throw XCTSkip("SKIPPED (reference stack missing): \(why)")
    }
}

/// A reference check that could not run where it must (`BTXPIPE_REQUIRE_REFERENCE=1`).
public struct ReferenceStackMissing: Error, CustomStringConvertible {
    public let why: String
    public init(why: String) { self.why = why }
    public var description: String { "reference check cannot run: \(why)" }
}
