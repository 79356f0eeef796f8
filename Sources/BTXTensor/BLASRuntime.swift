import CBLAS
import Foundation

/// Chooses and checks OpenBLAS's kernels for this CPU.
///
/// NOTE: Debian 12's OpenBLAS 0.3.21 does not recognise recent Xeons and silently falls back to
/// Prescott kernels, 5–10× slower than its SkylakeX ones. The kernels are picked by a load-time
/// constructor that reads `OPENBLAS_CORETYPE`, so the variable must be set *before* the process
/// starts: `prepareProcess` sets it and re-executes the current binary once.
public enum BLASRuntime {
    /// Environment variable OpenBLAS reads at load time to pick its kernels.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"
    /// Set by us on re-exec so that the child knows the core type was our choice (and checks it).
    static let autoVariable = "BTXPIPE_BLAS_AUTO"
    /// Core types from fastest to safest; a failed check moves one step down.
    static let fallbackChain = ["SkylakeX", "Haswell", "Sandybridge", "Prescott"]

    /// The best OpenBLAS core type this CPU supports, from the kernel's CPU flags.
    public static func preferredCoreType(cpuFlags: Set<String> = currentCPUFlags()) -> String {
        let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(cpuFlags.contains)
        if avx512 { return "SkylakeX" }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "Haswell" }
        if cpuFlags.contains("avx") { return "Sandybridge" }
        return "Prescott"
    }

    /// The `flags` line of /proc/cpuinfo (empty off Linux).
    public static func currentCPUFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// Call first thing in `main`. When the user has not chosen a core type and OpenBLAS's own pick
    /// is not the best this CPU supports, re-executes this binary with the better one (when it is, checks
    /// a small sgemm in-process and steps down only if that fails) — at once when
    /// `reexecNow`, else only if `ensurePreferredKernels` is called later (a command that may never
    /// multiply: a process start and the check cost ~0.15 s, most of a no-op rerun). In the
    /// re-executed process it checks a small sgemm against a plain reference, stepping down the
    /// fallback chain if the kernels disagree. Returns normally in the process that should do the work.
    public static func prepareProcess(reexecNow: Bool = true) {
        let env = ProcessInfo.processInfo.environment
        guard let chosen = env[coreTypeVariable] else {
            // NOTE: OpenBLAS's detection is right on most CPUs (Zen 3 loads "Zen", Haswell's kernels);
            // only one it does not know (a recent Xeon → Prescott) needs the variable and a re-exec.
            if loadedKernelsSuffice(loaded: coreName, preferred: preferredCoreType()) {
                // Kept as loaded (no re-exec), but checked all the same: a millisecond, in-process.
                if sgemmAgreesWithReference() { return }
                stepDown(from: preferredCoreType())
                return
            }
            if reexecNow { reexec(coreType: preferredCoreType()) } else { pendingReexec = true }
            return
        }
        guard env[autoVariable] == chosen else { return }  // the user's own choice: leave it alone
        if sgemmAgreesWithReference() { return }
        stepDown(from: chosen)
    }

    /// Re-executes with the next kernels down the fallback chain after `failed` (which failed the check).
    private static func stepDown(from failed: String) {
        let next = fallbackChain.drop(while: { $0 != failed }).dropFirst().first ?? "Prescott"
        FileHandle.standardError.write(Data("btxpipe: OpenBLAS \(failed) kernels failed the sgemm check; using \(next)\n".utf8))
        if next != failed { reexec(coreType: next) }
    }

    /// Set when `prepareProcess(reexecNow: false)` left slower kernels loaded.
    static var pendingReexec = false  // written once in main, before any thread starts

    /// Whether `ensurePreferredKernels` would re-execute (slower kernels loaded, choice deferred).
    public static var kernelChoicePending: Bool { pendingReexec }

    /// Call before the first matrix product of a command that deferred the choice
    /// (`prepareProcess(reexecNow: false)`): re-executes this binary with the preferred kernels if
    /// OpenBLAS loaded slower ones. Must come before any effect a rerun would repeat.
    public static func ensurePreferredKernels() {
        if pendingReexec { reexec(coreType: preferredCoreType()) }
    }

    /// Whether the kernels OpenBLAS picked itself (`loaded`, its core name) are the ones `preferred`
    /// names, or a family OpenBLAS runs with the same kernels (Zen and Cooper Lake use Haswell's and
    /// SkylakeX's sgemm).
    public static func loadedKernelsSuffice(loaded: String, preferred: String) -> Bool {
        let same: [String: Set<String>] = ["haswell": ["haswell", "zen"], "skylakex": ["skylakex", "cooperlake"],
                                           "sandybridge": ["sandybridge"], "prescott": ["prescott"]]
        return same[preferred.lowercased(), default: [preferred.lowercased()]].contains(loaded.lowercased())
    }

    private static func reexec(coreType: String) {
        setenv(coreTypeVariable, coreType, 1)
        setenv(autoVariable, coreType, 1)
        let args = CommandLine.arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cArgs.append(nil)
        execv("/proc/self/exe", &cArgs)
        // execv only returns on failure: carry on with whatever kernels are loaded.
        for p in cArgs { free(p) }
    }

    /// Multiplies two small matrices with sgemm and with a double-precision loop; true if they agree.
    public static func sgemmAgreesWithReference(size n: Int = 67) -> Bool {
        var rng = SplitMix64(seed: 0x5eed)
        let a = (0..<n * n).map { _ in Float(rng.nextUniform() - 0.5) }
        let b = (0..<n * n).map { _ in Float(rng.nextUniform() - 0.5) }
        var c = [Float](repeating: 0, count: n * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n),
                    1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        for i in 0..<n {
            for j in 0..<n {
                var ref = 0.0
                for k in 0..<n { ref += Double(a[i * n + k]) * Double(b[k * n + j]) }
                if abs(ref - Double(c[i * n + j])) > 1e-4 { return false }
            }
        }
        return true
    }

    /// What OpenBLAS reports about itself.
    public static var configuration: String { String(cString: openblas_get_config()) }
    /// The kernel family OpenBLAS is using (e.g. "SkylakeX").
    public static var coreName: String { String(cString: openblas_get_corename()) }
    /// OpenBLAS's thread count.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Makes OpenBLAS run every call on the calling thread. The model's kernels split their products
    /// over their own worker pool (`matmulForward`'s `threads`), so OpenBLAS's threads would only
    /// oversubscribe the cores, spin between calls, and allocate when their count changes. Cheap
    /// when already single-threaded, so every model calls it once when it is built.
    public static func useCallerThreadOnly() {
        if openblas_get_num_threads() != 1 { openblas_set_num_threads(1) }
    }

    /// Runs `body` with OpenBLAS's own threading set to `threads` (benchmarks that time OpenBLAS's
    /// multithreaded sgemm as a reference), then restores the previous count.
    public static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(previous) }
        return try body()
    }

    /// Measured sgemm throughput in GFLOP/s for C[m×n] = A[m×k]·B[k×n] (best of `repeats`).
    public static func measureSGEMM(m: Int, n: Int, k: Int, transposeB: Bool = false, repeats: Int = 5) -> Double {
        var rng = SplitMix64(seed: 1)
        let a = (0..<m * k).map { _ in Float(rng.nextUniform()) }
        let b = (0..<k * n).map { _ in Float(rng.nextUniform()) }
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(transposeB ? k : n),
                        0, &c, Int32(n))
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2.0 * Double(m) * Double(n) * Double(k) / best / 1e9
    }
}
