import ArgumentParser
import BTXPipeline

/// The options every pipeline command shares: the spec file and the store.
struct PipelineOptions: ParsableArguments {
    @Argument(help: "The pipeline spec, e.g. pipelines/btx.yaml.")
    var pipeline: String

    @Option(name: .long, help: "The store directory (default: the spec's `store:`, else store/).")
    var store: String?

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Override one spec value for this invocation, as editing the file would (repeatable).",
        discussion: "PATH is any dotted spec path, VALUE is YAML: --set vars.seed=2, "
            + "--set stages.seed.params.steps=10, --set 'vars.domains=[code,math]'.",
        valueName: "PATH=VALUE"))
    var overrides: [String] = []

    @OptionGroup var verbosity: Verbosity

    /// The parsed `--set` overrides.
    func specOverrides() throws -> [SpecOverride] { try overrides.map(SpecOverride.init(parsing:)) }
}

/// The pipeline options plus one stage, for the commands about a single stage (`show`, `explain`, `log`).
struct StageArguments: ParsableArguments {
    @OptionGroup var pipeline: PipelineOptions

    @Argument(help: "The stage, e.g. 'train[code]'.")
    var stage: String

    /// The loaded pipeline and the stage instance named.
    func load() throws -> (PipelineSession, StageInstance) {
        let session = try PipelineSession(pipeline)
        return (session, try session.stage(stage))
    }
}
