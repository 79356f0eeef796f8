import Foundation

/// The output of one run of the real `btxpipe` binary.
public struct CommandResult {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs the `btxpipe` binary built beside the test bundle, as a user would from a shell.
public enum BTXPipeBinary {
    /// Where the binary is: `$BTXPIPE_BINARY`, else next to the running test bundle.
    public static var url: URL {
        if let path = ProcessInfo.processInfo.environment["BTXPIPE_BINARY"] { return URL(fileURLWithPath: path) }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = testBinary.deletingLastPathComponent()
        // On Linux the bundle is an executable file; on macOS a directory several levels deep.
        while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("btxpipe").path),
              dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("btxpipe")
    }

    /// Runs `btxpipe ARGS` in `directory` and waits for it.
    @discardableResult
    public static func run(_ arguments: [String], in directory: URL? = nil,
                           environment: [String: String] = [:]) throws -> CommandResult {
        try runProcess(url, arguments, in: directory, environment: environment)
    }
}

/// Runs any executable to completion, capturing both streams (read concurrently, so a chatty
/// child cannot dead-lock on a full pipe).
public func runProcess(_ executable: URL, _ arguments: [String], in directory: URL? = nil,
                       environment: [String: String] = [:]) throws -> CommandResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // The two pipes are drained at once (stdout on a helper thread) so a chatty child never blocks.
    final class Box: @unchecked Sendable { var data = Data() }
    let outBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let outData = outBox.data
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus,
                         stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}
