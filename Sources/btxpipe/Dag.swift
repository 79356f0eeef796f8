import ArgumentParser
import BTXPipeline

/// `btxpipe dag PIPELINE`: the stage graph as a text tree, Graphviz dot or Mermaid.
struct Dag: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the stage graph (text tree, dot or mermaid).")

    /// Output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, dot, mermaid }

    @OptionGroup var options: PipelineOptions

    @Option(help: "text, dot or mermaid.")
    var format: Format = .text

    func run() throws {
        try CommandFailure.report {
            let spec = try PipelineSession(options).spec
            switch format {
            case .text: print(GraphRendering.text(spec))
            case .dot: print(GraphRendering.dot(spec))
            case .mermaid: print(GraphRendering.mermaid(spec))
            }
        }
    }
}
