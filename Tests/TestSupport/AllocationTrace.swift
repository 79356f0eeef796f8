import Foundation

/// Proves that code allocates nothing, with glibc's own malloc tracer: a test re-runs one test
/// method of this test binary in a child process with `libc_malloc_debug` preloaded; the child
/// wraps the code under test in `AllocationTrace.record`, and the parent reads back every
/// allocation (malloc, calloc, realloc, memalign, from any thread or library) made inside it.
///
/// NOTE: interposing `malloc` from the test binary itself does not work: SwiftPM does not export
/// the test executable's symbols, so libraries keep calling libc's malloc. The tracer is glibc's
/// (`mtrace`), moved to `libc_malloc_debug.so` in glibc 2.34, which must be preloaded at start-up.
public enum AllocationTrace {
    /// glibc's malloc debugging library (Debian's path).
    public static let debugLibrary = "/lib/x86_64-linux-gnu/libc_malloc_debug.so.0"

    /// Whether this process is such a child (the tracer is armed); `record` is a plain call otherwise.
    public static var isTracing: Bool { ProcessInfo.processInfo.environment["MALLOC_TRACE"] != nil }

    /// Runs `body` with the tracer on (only in a child started by `allocations(inTest:)`).
    public static func record<R>(_ body: () throws -> R) rethrows -> R {
        guard isTracing else { return try body() }
        mtrace()
        defer { muntrace() }
        return try body()
    }

    /// Runs test `name` (`"Module.Class/method"`) of this test binary in a child process with the
    /// tracer preloaded, and returns one line per allocation made inside its `record` calls (the
    /// tracer's line: caller, address, size). Nil where the tracer is unavailable (not glibc).
    /// NOTE: OpenBLAS's AVX-512 small-matrix kernels (products of M·N·K ≤ 100³ on SkylakeX kernels)
    /// malloc a 2 KB scratch buffer on every call, inside the library; those are not counted.
    public static func allocations(inTest name: String) throws -> [String]? {
        guard FileManager.default.fileExists(atPath: debugLibrary) else { return nil }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("btx-mtrace-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0])
        // NOTE: glibc's tracer is not thread-safe: about one child in 30 dies of SIGSEGV inside it
        // (seen even for a single traced array allocation). A crash is retried; a failing test
        // (exit 1) fails every attempt and is reported.
        var result = CommandResult(status: -1, stdout: "", stderr: "")
        for _ in 0..<3 where result.status != 0 {
            try? FileManager.default.removeItem(at: log)
            result = try runProcess(testBinary, [name], environment: ["LD_PRELOAD": debugLibrary, "MALLOC_TRACE": log.path])
        }
        guard result.status == 0 else {
            throw TraceError.childFailed("\(name) exited \(result.status) three times: \(result.stdout.suffix(2000))\(result.stderr.suffix(2000))")
        }
        let text = try String(contentsOf: log, encoding: .utf8)
        guard text.contains("= Start") else { throw TraceError.childFailed("\(name) recorded nothing (no '= Start' in the trace)") }
        // Between "= Start" and "= End": "@ caller + addr size" (malloc …) or "> addr size" (realloc's result).
        var inside = false, lines = [String]()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("= Start") { inside = true } else if line.hasPrefix("= End") { inside = false }
            else if inside && (line.contains(" + ") || line.contains(" > ")) && !line.contains(openBLASSmallKernel) { lines.append(String(line)) }
        }
        return lines
    }

    /// The child did not run as expected.
    public enum TraceError: Error, CustomStringConvertible {
        case childFailed(String)
        public var description: String {
            switch self { case let .childFailed(why): return "allocation trace: \(why)" }
        }
    }
}

/// The frame OpenBLAS's small-matrix kernels allocate from (`sgemm_small_kernel_b0_nn_SKYLAKEX`, …).
private let openBLASSmallKernel = "libopenblas.so.0:(sgemm_small_kernel_"

// glibc's tracer switches (no-ops unless libc_malloc_debug is preloaded and MALLOC_TRACE is set).
@_silgen_name("mtrace") private func mtrace()
@_silgen_name("muntrace") private func muntrace()
