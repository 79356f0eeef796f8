import TestSupport
import XCTest

final class DoctorCommandTests: XCTestCase {
    func testDoctorReportsLibraryCoreTypeThreadsAndSpeed() throws {
        let result = try BTXPipeBinary.run(["doctor", "--size", "256"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for field in ["BLAS library:", "core type:", "threads:", "GFLOP/s", "agrees with reference"] {
            XCTAssertTrue(result.stdout.contains(field), "missing \(field) in:\n\(result.stdout)")
        }
    }

    func testDoctorPicksTheCPUsPreferredKernelsWhenUnset() throws {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "OPENBLAS_CORETYPE")
        env.removeValue(forKey: "BTXPIPE_BLAS_AUTO")
        let process = Process()
        process.executableURL = BTXPipeBinary.url
        process.arguments = ["doctor", "--size", "64"]
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // Either OpenBLAS detected this CPU's best kernels itself (no re-exec) or btxpipe chose them.
        XCTAssertTrue(text.contains("chosen by btxpipe") || text.contains("kept by btxpipe"), text)
    }

    func testUsersOwnCoreTypeIsRespected() throws {
        let result = try BTXPipeBinary.run(["doctor", "--size", "64"],
                                           environment: ["OPENBLAS_CORETYPE": "Haswell", "BTXPIPE_BLAS_AUTO": ""])
        XCTAssertTrue(result.stdout.contains("OPENBLAS_CORETYPE=Haswell, set by the user"), result.stdout)
    }
}
