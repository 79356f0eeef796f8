import Foundation
import TestSupport
import XCTest

/// `btxpipe bench train --config NAME` through the real binary: one row runs alone, prints its table
/// row and JSON line with its own peak RSS, and an unknown config is a usage error. No timing checks.
final class BenchCommandTests: XCTestCase {
    func testOneTrainConfigRunsAloneAndPrintsItsJSONLine() throws {
        let dir = try TemporaryDirectory()
        let out = try BTXPipeBinary.expect(["bench", "train", "--quick", "--config", "XS-MoE"], in: dir.url).stdout
        let lines = out.split(separator: "\n").filter { $0.hasPrefix("{\"bench\":\"train\"") }
        XCTAssertEqual(lines.count, 1, out)
        let row = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(row["config"] as? String, "XS-MoE")
        XCTAssertGreaterThan(row["tokens_per_s"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(row["rss_mib"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(row["baseline_rss_mib"] as? Double ?? 0, 0)
        XCTAssertTrue(out.contains("process baseline RSS"), out)
    }

    func testAnUnknownTrainConfigIsAUsageError() throws {
        let dir = try TemporaryDirectory()
        let result = try BTXPipeBinary.expect(["bench", "train", "--config", "XL"], in: dir.url, status: 2)
        XCTAssertTrue(result.stderr.contains("XS-MoE"), result.stderr)
    }
}
