import ArgumentParser

/// The `btxpipe` command: Branch-Train-MiX as a file-based batch pipeline.
struct BTXPipeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "btxpipe",
        abstract: "Train language models by Branch-Train-MiX, as a cached, resumable pipeline.",
        discussion: ExitStatus.help,
        version: BTXPipeVersion.string,
        subcommands: [
            Run.self, Plan.self, Status.self, Dag.self, Show.self, Explain.self, Log.self, Unlock.self, Report.self,
            Import.self, Export.self, Generate.self, StoreCommand.self, Bench.self, Doctor.self,
            Push.self, Pull.self, Submit.self, Cancel.self,
            Kinds.self, Metrics.self, Completion.self,
        ]
    )
}

/// The version recorded in run records and printed by `--version`.
enum BTXPipeVersion {
    static let string = "0.1.0"
}
