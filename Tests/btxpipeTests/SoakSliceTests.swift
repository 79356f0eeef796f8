import BTXStore
import Foundation
import TestSupport
import XCTest

/// A small slice of `make soak` (Tests/Soak/soak.sh) on a toy pipeline, so that every figure's
/// machinery runs under `make test`: kill -9 mid-run and resume, damaged objects local and on the
/// remote, a full disk, two runs racing a gc loop. Each figure's JSON line must report success.
final class SoakSliceTests: XCTestCase {
    private var soakFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Soak")
    }

    func testEverySoakFigureHoldsOnATinyPipeline() throws {
        let script = soakFolder.appendingPathComponent("soak.sh")
        let result = try runProcess(URL(fileURLWithPath: "/bin/bash"), [script.path], environment: [
            "BTX": BTXPipeBinary.url.path, "SOAK_PIPELINE": soakFolder.appendingPathComponent("tiny.yaml").path,
            "SOAK_KILLS": "3", "SOAK_FLIPS": "6", "SOAK_GC_RUNS": "1",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        // NOTE: JSONValue keeps booleans and numbers apart (JSONSerialization reads 0 and 1 as Bool).
        let figures: [[String: JSONValue]] = result.stdout.split(separator: "\n").compactMap { line in
            guard case .object(let fields)? = try? JSONValue.parse(Data(line.utf8)) else { return nil }
            return fields
        }
        XCTAssertEqual(figures.compactMap { $0["figure"]?.stringValue }, ["kill9", "flips", "diskfull", "gcrace"], result.stdout + result.stderr)
        for figure in figures where figure["skipped"] == nil {
            for (key, value) in figure {
                if case .bool(let flag) = value { XCTAssertTrue(flag, "\(figure["figure"]?.stringValue ?? "?"): \(key) is false\n\(result.stdout)\n\(result.stderr)") }
            }
        }
        if let flips = figures.first(where: { $0["figure"]?.stringValue == "flips" }), flips["skipped"] == nil {
            XCTAssertEqual(flips["detected_local"], flips["damaged_local"], result.stdout)
            XCTAssertEqual(flips["stores_differing_from_reference"], 0, result.stdout)
        }
        if let race = figures.first(where: { $0["figure"]?.stringValue == "gcrace" }), race["skipped"] == nil {
            XCTAssertEqual(race["stage_runs"], race["stages"], "no stage ran twice: \(result.stdout)")
        }
    }
}
