import ArgumentParser
import BTXStore

/// `btxpipe store gc`: frees what no action entry or ref reaches (only with --yes).
struct StoreGarbageCollect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Free objects no action entry or ref reaches, plus stale temp files (dry run unless --yes).")

    @OptionGroup var options: StoreOptions

    @Flag(help: "Really delete (default: only print what would be freed).")
    var yes = false

    @Option(help: "Keep files younger than this many seconds (a running stage may not have recorded them yet).")
    var grace: Double = 600

    func validate() throws {
        guard grace >= 0 else { throw ValidationError("--grace must be ≥ 0, got \(grace)") }
    }

    func run() throws {
        let report = try options.open().collectGarbage(delete: yes, grace: grace)
        let what = "\(report.unreachable.count) objects and \(report.strayFiles.count) stray files, \(ByteFormat.human(report.bytes))"
        print("reachable: \(report.reachableObjects) objects")
        print(yes ? "freed \(what)" : "would free \(what) (rerun with --yes to delete)")
    }
}
