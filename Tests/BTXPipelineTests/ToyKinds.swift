import BTXPipeline
import BTXStore
import Foundation

/// Toy stage kinds for planner and runner tests: outputs are metadata only, so they need no objects.
enum Toy {
    /// A fan-out joined with a plain stage: the runner tests' pipeline, and a seed of the spec fuzzer.
    static let fanInSpec = """
    name: r
    stages:
      a: {kind: emit, params: {value: A}}
      t:
        foreach: [x, y]
        kind: emit
        params: {value: "${item}"}
      m: {kind: join, inputs: {parts: [a, 't[*]']}}
    """

    /// Outputs `{"value": value}`; `value` is any string, `count` an integer in 0...10.
    struct Emit: StageKind {
        static let name = "emit"
        static let version = 1
        func validate(_ params: StageParams) throws {
            _ = try params.string("value", default: "")
            _ = try params.int("count", default: 0, in: 0...10)
        }
        func run(_ context: StageContext) throws -> Manifest {
            Manifest(kind: "toy", metadata: ["value": .string(try context.params.string("value", default: ""))])
        }
    }

    /// Joins its `parts` inputs' values with `separator`; logs the threads it was given.
    struct Join: StageKind {
        static let name = "join"
        static let version = 1
        func validate(_ params: StageParams) throws { _ = try params.string("separator", default: "+") }
        func run(_ context: StageContext) throws -> Manifest {
            context.log("threads \(context.threads)")
            let values = context.inputList("parts").compactMap { $0.metadata["value"]?.stringValue }
            return Manifest(kind: "toy", metadata: ["value": .string(values.joined(separator: try context.params.string("separator", default: "+")))])
        }
    }

    /// Always throws.
    struct Fail: StageKind {
        static let name = "fail"
        static let version = 1
        func validate(_ params: StageParams) throws {}
        func run(_ context: StageContext) throws -> Manifest {
            context.log("about to fail")
            throw StageError.failed("toy failure")
        }
    }

    /// Counts `steps`, saving a checkpoint after each; cancels itself after `cancel_at` steps (for resume tests).
    struct Count: StageKind {
        static let name = "count"
        static let version = 1
        func validate(_ params: StageParams) throws {
            _ = try params.int("steps", in: 1...1000)
            _ = try params.int("cancel_at", default: -1)
        }
        func run(_ context: StageContext) throws -> Manifest {
            let steps = try context.params.int("steps")
            let cancelAt = try context.params.int("cancel_at", default: -1)
            var done = Int(try context.loadCheckpoint()?.metadata["done"]?.intValue ?? 0)
            let resumedFrom = done
            while done < steps {
                if done == cancelAt && resumedFrom == 0 { throw StageError.cancelled }
                done += 1
                try context.saveCheckpoint(Manifest(kind: "checkpoint", metadata: ["done": .int(Int64(done))]))
                context.progress(step: done, total: steps, fields: ["loss": 1.0 / Double(done)])
            }
            context.metric("resumed_from", .int(Int64(resumedFrom)))
            return Manifest(kind: "toy", metadata: ["value": .string("counted \(steps)")])
        }
    }

    static let registry = StageRegistry([Emit.self, Join.self, Fail.self, Count.self])
}
