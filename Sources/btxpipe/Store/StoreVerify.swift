import ArgumentParser
import BTXStore

/// `btxpipe store verify`: reads everything; lists every damaged file; exits 1 if any.
struct StoreVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check every object, action entry and ref; exit non-zero if any is damaged.")

    @OptionGroup var options: StoreOptions

    func run() throws {
        let report = try options.open().verify()
        for problem in report.problems { print("BAD \(problem.path): \(problem.reason)") }
        print("checked \(report.checked) files: \(report.problems.isEmpty ? "all good" : "\(report.problems.count) damaged")")
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
