import ArgumentParser
import BTXTensor
import Foundation

/// `btxpipe doctor`: what this machine gives btxpipe (BLAS kernels, threads, measured speed).
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the BLAS library, its core type and threads, and a measured sgemm GFLOP/s.")

    @Option(help: "Matrix size for the sgemm measurement.")
    var size: Int = 1024

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let chosenBy = env["OPENBLAS_CORETYPE"] == nil ? "OpenBLAS's own detection, kept by btxpipe: the CPU's preferred kernels"
            : env["BTXPIPE_BLAS_AUTO"] == env["OPENBLAS_CORETYPE"] ? "chosen by btxpipe" : "set by the user"
        print("BLAS library:   OpenBLAS (\(BLASRuntime.configuration.trimmingCharacters(in: .whitespaces)))")
        print("core type:      \(BLASRuntime.coreName) (OPENBLAS_CORETYPE=\(env["OPENBLAS_CORETYPE"] ?? "unset"), \(chosenBy))")
        print("CPU prefers:    \(BLASRuntime.preferredCoreType())")
        print("threads:        \(BLASRuntime.threads)")
        print("sgemm check:    \(BLASRuntime.sgemmAgreesWithReference() ? "agrees with reference" : "DISAGREES with reference")")
        let gflops = BLASRuntime.measureSGEMM(m: size, n: size, k: size)
        print(String(format: "sgemm %d³:     %.1f GFLOP/s", size, gflops))
    }
}
