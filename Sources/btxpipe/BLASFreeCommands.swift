/// Which commands may skip choosing OpenBLAS's kernels at start-up (see `BLASRuntime.prepareProcess`).
enum BLASFreeCommands {
    /// Subcommands that never run a matrix product in this process, or (`run`) decide later with
    /// `BLASRuntime.ensurePreferredKernels`. Anything else (generate, bench, doctor, help) chooses at once.
    static let names: Set<String> = [
        "run", "plan", "status", "dag", "show", "explain", "log", "unlock", "report", "import", "export",
        "store", "push", "pull", "submit", "cancel", "kinds", "metrics", "completion",
    ]

    /// Whether the command line `arguments` (program name first) names one of `names`.
    static func deferKernelChoice(_ arguments: [String]) -> Bool {
        arguments.dropFirst().first.map(names.contains) ?? false
    }
}
