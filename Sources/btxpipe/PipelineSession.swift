import ArgumentParser
import BTXPipeline
import BTXStages
import BTXStore
import Foundation

/// A loaded pipeline with its store: what the pipeline commands work on.
struct PipelineSession {
    let spec: PipelineSpec
    let store: Store
    let planner: Planner
    var state: StoreState { StoreState(store: store) }

    /// Loads and validates the spec and opens the store; a bad spec prints its one-line error and exits 2.
    init(_ options: PipelineOptions) throws {
        do {
            spec = try PipelineSpec.load(path: options.pipeline, registry: StageCatalog.registry,
                                         overrides: try options.specOverrides())
            store = try Store(root: URL(fileURLWithPath: options.store ?? spec.store))
            var planner = try Planner(spec: spec, registry: StageCatalog.registry)
            planner.sources = SourceFingerprints.compute(spec: spec, registry: StageCatalog.registry, store: store)
            self.planner = planner
        } catch {
            throw CommandFailure.usage("\(error)")
        }
    }

    /// The stage instance called `name`, or a usage error with a near name.
    func stage(_ name: String) throws -> StageInstance {
        do {
            let resolved = try planner.resolveTargets([name])
            guard resolved.count == 1, let stage = spec.stage(resolved[0]) else {
                throw CommandFailure.usage("'\(name)' fans out to \(resolved.joined(separator: ", ")); name one instance")
            }
            return stage
        } catch let error as PlanError {
            throw CommandFailure.usage("\(error)")
        }
    }

    /// The plan for every stage (keys where computable, cached or not).
    func fullPlan() throws -> [PlanStep] {
        do { return try planner.plan(state: state) } catch { throw CommandFailure.usage("\(error)") }
    }

    /// The run record of a cached key, if readable.
    func cachedRecord(_ key: ObjectHash) -> RunRecord? {
        guard let entry = try? store.action(key) else { return nil }
        return try? store.record(entry.record)
    }
}

/// Errors that end a command with a message on stderr and an exit code.
enum CommandFailure: Error, CustomStringConvertible {
    /// Bad spec, stage name or arguments: exit 2.
    case usage(String)
    /// A stage failed: exit 1.
    case failed(String)

    var description: String {
        switch self { case .usage(let message), .failed(let message): return message }
    }

    /// Runs `body`, turning failures into `btxpipe: message` on stderr and the exit code.
    static func report(_ body: () throws -> Void) throws {
        do { try body() } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("btxpipe: \(failure)\n".utf8))
            switch failure {
            case .usage: throw ExitStatus.usage
            case .failed: throw ExitStatus.failed
            }
        }
    }
}
