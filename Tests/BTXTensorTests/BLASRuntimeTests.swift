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

    func testLoadedKernelsAgreeWithReference() {
        XCTAssertTrue(BLASRuntime.sgemmAgreesWithReference())
    }
}
