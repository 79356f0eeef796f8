import Foundation
import XCTest

extension BTXPipeBinary {
    /// Runs `btxpipe ARGS` in `directory` without colour and fails the calling test unless it exits
    /// with `status`, showing its stderr.
    @discardableResult
    public static func expect(_ arguments: [String], in directory: URL, status: Int32 = 0,
                              file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try run(arguments, in: directory, environment: ["NO_COLOR": "1"])
        XCTAssertEqual(result.status, status, "btxpipe \(arguments.joined(separator: " ")):\n\(result.stderr)", file: file, line: line)
        return result
    }
}
