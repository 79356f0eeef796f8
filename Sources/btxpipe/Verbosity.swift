import ArgumentParser
import BTXPipeline

/// `-q` / `-v`: how much a command says on stderr. Results (stdout) and errors print at every level.
struct Verbosity: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Quiet: no progress or notes on stderr, only results and errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Verbose: progress lines every second when not on a terminal.")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("-q and -v contradict each other: give one") }
    }

    /// Seconds between plain (non-terminal) progress lines.
    var plainInterval: Double { verbose ? 1 : 5 }
}

extension TransferLine {
    /// A line on stderr at this verbosity (silent under `-q`; plain lines every `plainInterval` seconds off a terminal).
    convenience init(verbosity: Verbosity) {
        self.init(standardErrorQuiet: verbosity.quiet, plainInterval: verbosity.plainInterval)
    }
}
