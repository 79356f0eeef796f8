import BTXStore

/// What the planner needs to know about a store: cached outputs and the last run of each stage.
/// The runner reads a real `Store`; planner tests use an in-memory fake.
public protocol PlanState {
    /// The output manifest cached under `key`, or nil.
    func cachedOutput(for key: ObjectHash) -> ObjectHash?
    /// The last recorded run of `stage` in `pipeline`, or nil.
    func lastRun(pipeline: String, stage: String) -> LastRun?
}

/// The last recorded run of a stage (kept by the runner under the ref `last/<pipeline>/<stage>`).
public struct LastRun: Codable, Hashable, Sendable {
    /// How a run ended.
    public enum Outcome: String, Codable, Sendable { case succeeded, failed, cancelled }
    /// The key components the run had.
    public var key: StageKey
    /// How it ended.
    public var outcome: Outcome
    /// Its run record (timings, host, metrics, log).
    public var record: ObjectHash
    /// The error, for a failed run.
    public var error: String?

    /// A last-run entry.
    public init(key: StageKey, outcome: Outcome, record: ObjectHash, error: String? = nil) {
        self.key = key
        self.outcome = outcome
        self.record = record
        self.error = error
    }
}

/// Why a stage will run, or that it will not.
public enum PlanReason: Hashable, Sendable, CustomStringConvertible {
    /// Its key is in the action cache: skipped.
    case cached(output: ObjectHash)
    /// It never ran in this pipeline.
    case neverRun
    /// Its key differs from the last run's: what changed.
    case changed([String])
    /// Same key as the last run, which failed or was cancelled.
    case lastRun(LastRun.Outcome)
    /// Same key as a successful last run, but the cache entry is gone (e.g. after gc).
    case notCached
    /// Its key is not known yet: these inputs will run first.
    case inputsWillRun([String])

    /// True unless cached.
    public var runs: Bool { if case .cached = self { return false }; return true }

    public var description: String {
        switch self {
        case .cached(let output): return "cached (output \(output.short))"
        case .neverRun: return "never ran"
        case .changed(let changes): return "changed: " + changes.joined(separator: ", ")
        case .lastRun(let outcome): return "last run \(outcome.rawValue)"
        case .notCached: return "not in the cache"
        case .inputsWillRun(let stages): return "inputs will run first: " + stages.joined(separator: ", ")
        }
    }
}

/// One stage of a plan: its key (when its inputs are cached) and why it runs or not.
public struct PlanStep: Hashable, Sendable {
    /// The stage instance name.
    public var stage: String
    /// The key components, nil while an input still has to run.
    public var key: StageKey?
    /// Why it runs, or `.cached`.
    public var reason: PlanReason
}

/// Errors of planning a run.
public enum PlanError: Error, CustomStringConvertible, Equatable {
    /// A stage named on the command line does not exist.
    case unknownStage(String, suggestion: String?)
    /// `--only` named a stage whose inputs are not cached.
    case inputNotCached(stage: String, input: String)

    public var description: String {
        switch self {
        case .unknownStage(let name, let suggestion):
            return "no stage '\(name)' in the pipeline" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
        case .inputNotCached(let stage, let input):
            return "--only \(stage): its input '\(input)' is not cached; run it first (or drop --only)"
        }
    }
}

/// Plans a run: a pure function of the graph, the kinds' versions and the store state.
public struct Planner {
    let spec: PipelineSpec
    let graph: PipelineGraph
    let registry: StageRegistry
    /// Stage instance name → source fingerprint (`SourceFingerprints.compute`), folded into its key.
    /// Computed by the caller before planning, so that planning stays a pure function of data.
    public var sources: [String: JSONValue] = [:]

    /// A planner for a validated `spec`.
    public init(spec: PipelineSpec, registry: StageRegistry) throws {
        self.spec = spec
        self.graph = try PipelineGraph(spec)
        self.registry = registry
    }

    /// The key of `stage` given its inputs' output manifests, or nil if one of them is not known.
    public func key(of stage: StageInstance, outputs: [String: ObjectHash]) -> StageKey? {
        var inputs: [String: ObjectHash] = [:]
        for (slot, source) in stage.inputs.flatMap(\.slots) {
            guard let output = outputs[source] else { return nil }
            inputs[slot] = output
        }
        let version = registry.kind(named: stage.kind)?.version ?? 0
        return StageKey(kind: stage.kind, version: version, params: stage.params, inputs: inputs, source: sources[stage.name])
    }

    /// Checks that every name in `targets` is a stage instance (a fan-out stage's name means all its instances).
    public func resolveTargets(_ targets: [String]) throws -> [String] {
        try targets.flatMap { target -> [String] in
            if graph.stages[target] != nil { return [target] }
            let instances = spec.stages.filter { $0.group == target }.map(\.name)
            guard instances.isEmpty else { return instances }
            throw PlanError.unknownStage(target, suggestion: NameSuggestion.closest(to: target, among: graph.order))
        }
    }

    /// The plan for `targets` (all stages when empty) and what they need, in graph order; with `only`,
    /// just the targets, whose inputs must then be cached.
    public func plan(targets: [String] = [], only: Bool = false, state: PlanState) throws -> [PlanStep] {
        let names = try resolveTargets(targets)
        let selected = only ? graph.order.filter(names.contains) : graph.closure(of: names)
        var outputs: [String: ObjectHash] = [:]
        var steps: [PlanStep] = []
        for name in graph.closure(of: selected) {
            let stage = graph.stages[name]!
            guard let key = key(of: stage, outputs: outputs) else {
                let pending = stage.dependencies.filter { outputs[$0] == nil }
                if only && selected.contains(name) { throw PlanError.inputNotCached(stage: name, input: pending[0]) }
                steps.append(PlanStep(stage: name, key: nil, reason: .inputsWillRun(pending)))
                continue
            }
            let reason = self.reason(stage: name, key: key, state: state)
            if case .cached(let output) = reason { outputs[name] = output }
            if only && !selected.contains(name) {
                if !reason.runs { continue }
                throw PlanError.inputNotCached(stage: selected.first { graph.closure(of: [$0]).contains(name) } ?? name, input: name)
            }
            steps.append(PlanStep(stage: name, key: key, reason: reason))
        }
        return steps
    }

    /// Why `stage` with `key` runs, or that it is cached.
    public func reason(stage: String, key: StageKey, state: PlanState) -> PlanReason {
        if let output = state.cachedOutput(for: key.hash) { return .cached(output: output) }
        guard let last = state.lastRun(pipeline: spec.name, stage: stage) else { return .neverRun }
        let changes = key.changes(since: last.key)
        if !changes.isEmpty { return .changed(changes) }
        return last.outcome == .succeeded ? .notCached : .lastRun(last.outcome)
    }
}
