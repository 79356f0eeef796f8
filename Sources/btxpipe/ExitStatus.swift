import ArgumentParser
import Foundation

/// btxpipe's exit codes, one per kind of outcome, the same for every command:
/// 0 success; 1 a stage (or a transfer) failed; 2 a bad invocation of any kind (unknown option, bad
/// value, bad spec, unknown stage); 130 interrupted.
enum ExitStatus {
    static let failed = ExitCode(1)
    static let usage = ExitCode(2)
    static let interrupted = ExitCode(130)

    /// The help text's summary of the codes.
    static let help = "Exit status: 0 success, 1 a stage or transfer failed, 2 bad usage (any kind), 130 interrupted."

    /// Parses and runs `command` like `ParsableCommand.main()`, except that argument-parser's own
    /// validation errors (which it ends with 64, EX_USAGE) end with 2, as btxpipe's usage errors do.
    static func main<Command: ParsableCommand>(_ command: Command.Type) -> Never {
        do {
            var parsed = try command.parseAsRoot()
            try parsed.run()
            exit(0)
        } catch {
            var code = command.exitCode(for: error)
            if code == .validationFailure { code = usage }
            let text = command.fullMessage(for: error)
            if !text.isEmpty {
                if code == .success { print(text) } else { FileHandle.standardError.write(Data((text + "\n").utf8)) }
            }
            exit(code.rawValue)
        }
    }
}
