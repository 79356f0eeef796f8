/// How to run a pipeline (from the command line).
public struct RunOptions: Sendable {
    /// Stages to run with what they need; empty means all.
    public var targets: [String] = []
    /// Run just `targets`; their inputs must be cached.
    public var only = false
    /// Stages run at once (in-process threads).
    public var jobs = 1
    /// Cores shared by the running stages: each gets `cores / n` threads, n being the stages running
    /// at once when it starts (at most `jobs`), so a stage that runs alone gets every core.
    public var cores = 1
    /// Keep running independent stages after one failed.
    public var keepGoing = false
    /// The btxpipe version written into run records.
    public var version = "unknown"

    /// Default options.
    public init() {}

    /// Threads of a stage that starts while `concurrent` stages (itself included) run at once.
    /// Results do not depend on it: every kernel and BLAS product is bitwise the same at any thread count.
    public func threads(concurrent: Int) -> Int { max(1, cores / max(1, min(jobs, concurrent))) }
}
