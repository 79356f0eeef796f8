import ArgumentParser

/// The options every pipeline command shares: the spec file and the store.
struct PipelineOptions: ParsableArguments {
    @Argument(help: "The pipeline spec, e.g. pipelines/btx.yaml.")
    var pipeline: String

    @Option(name: .long, help: "The store directory (default: the spec's `store:`, else store/).")
    var store: String?
}
