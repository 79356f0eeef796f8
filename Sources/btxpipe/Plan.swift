import ArgumentParser
import BTXPipeline
import BTXStore

/// `btxpipe plan PIPELINE [STAGE…]`: what a run would do, and why.
struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Dry run: which stages would run, and why.")

    @OptionGroup var options: PipelineOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Stages to plan with what they need.")
    var stages: [String] = []

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let steps: [PlanStep]
            do { steps = try session.planner.plan(targets: stages, state: session.state) } catch {
                throw CommandFailure.usage("\(error)")
            }
            let running = steps.filter(\.reason.runs).count
            if output.json {
                return output.print(.array(steps.map { step in
                    .object(["stage": .string(step.stage), "runs": .bool(step.reason.runs),
                             "reason": .string(step.reason.runs ? step.reason.description : "cached"),
                             "key": step.key.map { JSONValue.string($0.hash.hex) } ?? .null,
                             "output": step.reason.cachedOutput.map { JSONValue.string($0.hex) } ?? .null])
                }))
            }
            print("\(session.spec.name): \(running) to run, \(steps.count - running) cached")
            let width = steps.map(\.stage.count).max() ?? 0
            for step in steps {
                let verb = step.reason.runs ? "run   " : "cached"
                let detail = step.reason.runs ? step.reason.description : "output \(step.reason.cachedOutput?.short ?? "")"
                print("  \(verb)  \(step.stage.padding(toLength: width, withPad: " ", startingAt: 0))  \(detail)")
            }
        }
    }
}

extension PlanReason {
    /// The output of a cached stage.
    var cachedOutput: ObjectHash? { if case .cached(let output) = self { return output }; return nil }
}
