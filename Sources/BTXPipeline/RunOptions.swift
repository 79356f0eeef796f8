/// How to run a pipeline (from the command line).
public struct RunOptions: Sendable {
    /// Stages to run with what they need; empty means all.
    public var targets: [String] = []
    /// Run just `targets`; their inputs must be cached.
    public var only = false
    /// Stages run at once (in-process threads).
    public var jobs = 1
    /// Cores shared by the running stages: each gets `cores / jobs` threads.
    public var cores = 1
    /// Keep running independent stages after one failed.
    public var keepGoing = false
    /// The btxpipe version written into run records.
    public var version = "unknown"

    /// Default options.
    public init() {}

    /// Threads each running stage gets.
    public var threadsPerStage: Int { max(1, cores / max(1, jobs)) }
}
