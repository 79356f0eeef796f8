import BTXStore

extension Planner {
    /// Why `stage` would run or not, as indented lines: which part of its key changed since the last run,
    /// or, when its key is not known yet, why each input that runs first would run.
    public func explain(_ stage: String, state: PlanState) throws -> [String] {
        let steps = try plan(targets: [stage], state: state)
        let byStage = Dictionary(uniqueKeysWithValues: steps.map { ($0.stage, $0) })
        var explained: Set<String> = []
        func lines(_ name: String, indent: String) -> [String] {
            guard let step = byStage[name] else { return [] }
            guard explained.insert(name).inserted else { return ["\(indent)\(name): (explained above)"] }
            let key = step.key.map { " (key \($0.hash.short))" } ?? ""
            switch step.reason {
            case .cached(let output):
                return ["\(indent)\(name): cached, would not rerun\(key), output \(output.short)"]
            case .neverRun:
                return ["\(indent)\(name): would run: it never ran in pipeline '\(spec.name)'\(key)"]
            case .changed(let changes):
                let old = state.lastRun(pipeline: spec.name, stage: name)?.key.hash.short ?? "?"
                return ["\(indent)\(name): would run: its key changed since the last run (\(old) → \(step.key?.hash.short ?? "?")):"]
                    + changes.map { "\(indent)  \(annotate($0, stage: name))" }
            case .lastRun(let outcome):
                let error = state.lastRun(pipeline: spec.name, stage: name)?.error.map { ": \($0)" } ?? ""
                return ["\(indent)\(name): would run: its last run with the same key\(key) \(outcome.rawValue)\(error)"]
            case .notCached:
                return ["\(indent)\(name): would run: same key as its last successful run\(key), but the cache entry is gone"]
            case .inputsWillRun(let inputs):
                return ["\(indent)\(name): would run: its inputs run first:"]
                    + inputs.flatMap { lines($0, indent: indent + "  ") }
            }
        }
        return lines(try resolveTargets([stage]).first ?? stage, indent: "")
    }

    /// "input parts.0: a → b" becomes "input parts.0 (shout[code]): a → b".
    private func annotate(_ change: String, stage: String) -> String {
        guard change.hasPrefix("input "), let instance = graph.stages[stage] else { return change }
        for (slot, source) in instance.inputs.flatMap(\.slots) where change.hasPrefix("input \(slot):") {
            return "input \(slot) (\(source))" + change.dropFirst("input \(slot)".count)
        }
        return change
    }
}
