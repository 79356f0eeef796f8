import BTXTensor
import XCTest

final class BLASRuntimeTests: XCTestCase {
    func testAVX512CPUPrefersSkylakeXKernels() {
        let flags: Set<String> = ["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"]
        XCTAssertEqual(BLASRuntime.preferredCoreType(cpuFlags: flags), "SkylakeX")
    }

    func testAVX2CPUPrefersHaswellAndPlainCPUPrescott() {
        XCTAssertEqual(BLASRuntime.preferredCoreType(cpuFlags: ["avx", "avx2", "fma"]), "Haswell")
        XCTAssertEqual(BLASRuntime.preferredCoreType(cpuFlags: ["sse2"]), "Prescott")
    }

    func testOpenBLASsOwnPickSufficesOnlyWhenItRunsThePreferredKernels() {
        XCTAssertTrue(BLASRuntime.loadedKernelsSuffice(loaded: "Zen", preferred: "Haswell"))
        XCTAssertTrue(BLASRuntime.loadedKernelsSuffice(loaded: "Haswell", preferred: "Haswell"))
        XCTAssertTrue(BLASRuntime.loadedKernelsSuffice(loaded: "SkylakeX", preferred: "SkylakeX"))
        // The case the re-exec exists for: a Xeon OpenBLAS 0.3.21 does not know falls back to Prescott.
        XCTAssertFalse(BLASRuntime.loadedKernelsSuffice(loaded: "Prescott", preferred: "SkylakeX"))
        XCTAssertFalse(BLASRuntime.loadedKernelsSuffice(loaded: "Haswell", preferred: "SkylakeX"))
    }

    func testLoadedKernelsAgreeWithReference() {
        XCTAssertTrue(BLASRuntime.sgemmAgreesWithReference())
    }
}
