import ArgumentParser
import BTXPipeline
import BTXStore
import Foundation

/// `btxpipe show PIPELINE STAGE`: a stage's lineage: kind, params, inputs, key, outputs, metrics, log.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A stage's lineage: kind, parameters, inputs, key, outputs, metrics and log.")

    @OptionGroup var arguments: StageArguments
    @OptionGroup var output: OutputOptions

    func run() throws {
        try CommandFailure.report {
            let (session, instance) = try arguments.load()
            let step = try session.planner.plan(targets: [instance.name], state: session.state).last
            if output.json { return output.print(try json(instance, step: step, session: session)) }
            print("stage   \(instance.name)")
            print("kind    \(instance.kind)")
            print("params  \(JSONValue.object(instance.params).canonicalText)")
            for slot in instance.inputs.flatMap(\.slots) {
                print("input   \(slot.slot) <- \(slot.stage) \(step?.key?.inputs[slot.slot]?.short ?? "(not cached yet)")")
            }
            print("key     \(step?.key?.hash.hex ?? "(unknown until its inputs are cached)")")
            print("status  \(step?.reason.description ?? "-")")
            if let key = step?.key?.hash, let entry = try? session.store.action(key) {
                try printOutput(entry, session: session)
            } else if let last = session.state.lastRun(pipeline: session.spec.name, stage: instance.name) {
                print("last run \(last.outcome.rawValue)\(last.error.map { ": \($0)" } ?? "") (key \(last.key.hash.short))")
                try printRecord(session.store.record(last.record), session: session)
            }
        }
    }

    /// The same lineage as one JSON object: stage, kind, params, inputs, key, status, and the output
    /// manifest with its run record (or the last failed run's record).
    private func json(_ instance: StageInstance, step: PlanStep?, session: PipelineSession) throws -> JSONValue {
        var object: [String: JSONValue] = [
            "stage": .string(instance.name), "kind": .string(instance.kind), "params": .object(instance.params),
            "key": step?.key.map { JSONValue.string($0.hash.hex) } ?? .null, "status": .string(step?.reason.description ?? "-"),
            "inputs": .array(instance.inputs.flatMap(\.slots).map { slot in
                .object(["slot": .string(slot.slot), "stage": .string(slot.stage),
                         "hash": step?.key?.inputs[slot.slot].map { JSONValue.string($0.hex) } ?? .null])
            }),
        ]
        if let key = step?.key?.hash, let entry = try? session.store.action(key) {
            object["output"] = .string(entry.output.hex)
            object["manifest"] = try .encoding(session.store.manifest(entry.output))
            object["record"] = try .encoding(session.store.record(entry.record))
        } else if let last = session.state.lastRun(pipeline: session.spec.name, stage: instance.name) {
            object["lastRun"] = .object(["outcome": .string(last.outcome.rawValue), "error": last.error.map(JSONValue.string) ?? .null,
                                         "record": try .encoding(session.store.record(last.record))])
        }
        return .object(object)
    }

    private func printOutput(_ entry: ActionEntry, session: PipelineSession) throws {
        let manifest = try session.store.manifest(entry.output)
        print("output  \(entry.output.hex) (\(manifest.kind))")
        for (name, tensor) in manifest.tensors.sorted(by: { $0.key < $1.key }) {
            print("  tensor \(name) \(tensor.dtype.rawValue)\(tensor.shape) \(tensor.object.short)")
        }
        for (name, object) in manifest.objects.sorted(by: { $0.key < $1.key }) { print("  object \(name) \(object.short)") }
        if !manifest.metadata.isEmpty { print("  metadata \(JSONValue.object(manifest.metadata).canonicalText)") }
        try printRecord(session.store.record(entry.record), session: session)
    }

    private func printRecord(_ record: RunRecord, session: PipelineSession) throws {
        print("run     \(ProgressView.duration(record.seconds)) on \(record.host), btxpipe \(record.btxpipeVersion), \(record.kind) v\(record.kindVersion)")
        if !record.metrics.isEmpty { print("metrics \(JSONValue.object(record.metrics).canonicalText)") }
        if let log = record.log {
            let text = String(decoding: try session.store.object(log), as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0)
            print("log\n" + lines.map { "  " + $0 }.joined(separator: "\n"))
        }
    }
}
