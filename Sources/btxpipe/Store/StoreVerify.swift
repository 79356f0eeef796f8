import ArgumentParser
import BTXStore

/// `btxpipe store verify`: reads everything; lists every damaged file; exits 1 if any.
struct StoreVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check every object, action entry and ref (and their closures); exit non-zero if any is damaged.")

    @OptionGroup var options: StoreOptions

    @Flag(help: "Quarantine damaged objects and remove damaged or dangling action entries and refs (pins are only listed), so the next run recomputes or re-pulls them.")
    var repair = false

    func run() throws {
        let report = try options.open().verify(repair: repair)
        for problem in report.problems { print("BAD \(problem.path): \(problem.reason)") }
        print("checked \(report.checked) files: \(report.problems.isEmpty ? "all good" : "\(report.problems.count) damaged")")
        if repair && !report.problems.isEmpty { print("repaired: the next run recomputes or pulls again what was removed") }
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
