@testable import BTXPipeline
import BTXStore
import XCTest

/// An in-memory store state.
private final class FakeState: PlanState {
    var cache: [ObjectHash: ObjectHash] = [:]
    var last: [String: LastRun] = [:]
    func cachedOutput(for key: ObjectHash) -> ObjectHash? { cache[key] }
    func lastRun(pipeline: String, stage: String) -> LastRun? { last[stage] }
}

final class PlannerTests: XCTestCase {
    private let text = """
    name: g
    stages:
      a: {kind: emit, params: {value: A}}
      b: {kind: emit, params: {value: B}}
      t:
        foreach: [x, y]
        kind: join
        params: {separator: "${item}"}
        inputs: {parts: [a]}
      m: {kind: join, inputs: {parts: 't[*]'}}
      solo: {kind: join, inputs: {parts: [b]}}
    """

    private func planner(_ text: String? = nil) throws -> Planner {
        try Planner(spec: PipelineSpec.parse(text ?? self.text, file: "g.yaml", registry: Toy.registry), registry: Toy.registry)
    }

    private func output(_ name: String) -> ObjectHash { .of("output of \(name)") }

    /// Marks `names` cached with their outputs, computing keys in graph order.
    private func cache(_ names: [String], in state: FakeState, planner: Planner) {
        var outputs: [String: ObjectHash] = [:]
        for name in planner.graph.order {
            guard let key = planner.key(of: planner.graph.stages[name]!, outputs: outputs) else { continue }
            if names.contains(name) { state.cache[key.hash] = output(name); outputs[name] = output(name) }
        }
    }

    func testEmptyStorePlansEveryStageInGraphOrder() throws {
        let steps = try planner().plan(state: FakeState())
        XCTAssertEqual(steps.map(\.stage), ["a", "b", "t[x]", "t[y]", "m", "solo"])
        XCTAssertEqual(steps.map(\.reason), [.neverRun, .neverRun, .inputsWillRun(["a"]), .inputsWillRun(["a"]),
                                            .inputsWillRun(["t[x]", "t[y]"]), .inputsWillRun(["b"])])
    }

    func testTargetsPlanOnlyWhatTheyNeed() throws {
        XCTAssertEqual(try planner().plan(targets: ["m"], state: FakeState()).map(\.stage), ["a", "t[x]", "t[y]", "m"])
        XCTAssertEqual(try planner().plan(targets: ["t"], state: FakeState()).map(\.stage), ["a", "t[x]", "t[y]"])
    }

    func testFullyCachedPipelineRunsNothing() throws {
        let p = try planner(), state = FakeState()
        cache(p.graph.order, in: state, planner: p)
        let steps = try p.plan(state: state)
        XCTAssertEqual(steps.filter(\.reason.runs), [])
        XCTAssertEqual(steps.last?.reason, .cached(output: output("solo")))
    }

    func testChangedParameterRerunsThatStageAndItsDependentsOnly() throws {
        let p = try planner(), state = FakeState()
        cache(p.graph.order, in: state, planner: p)
        let edited = try planner(text.replacingOccurrences(of: "value: B", with: "value: C"))
        state.last["b"] = LastRun(key: StageKey(kind: "emit", version: 1, params: ["value": "B"], inputs: [:]),
                                  outcome: .succeeded, record: .of("r"))
        let running = try edited.plan(state: state).filter(\.reason.runs)
        XCTAssertEqual(running.map(\.stage), ["b", "solo"])
        XCTAssertEqual(running.map(\.reason), [.changed(["params.value: \"B\" → \"C\""]), .inputsWillRun(["b"])])
    }

    func testChangedSourceFingerprintRerunsThatStageAndItsDependentsOnly() throws {
        var p = try planner()
        let state = FakeState()
        p.sources = ["b": "fingerprint-1"]
        cache(p.graph.order, in: state, planner: p)
        let bKey = p.key(of: p.graph.stages["b"]!, outputs: [:])!
        state.last["b"] = LastRun(key: bKey, outcome: .succeeded, record: .of("r"))
        XCTAssertEqual(try p.plan(state: state).filter(\.reason.runs), [])
        // A key without a source keeps its old JSON (and hash).
        XCTAssertNil(p.key(of: p.graph.stages["a"]!, outputs: [:])!.json.objectValue?["source"])

        p.sources = ["b": "fingerprint-2"]
        let running = try p.plan(state: state).filter(\.reason.runs)
        XCTAssertEqual(running.map(\.stage), ["b", "solo"])
        XCTAssertEqual(running.map(\.reason), [.changed(["source: \"fingerprint-1\" → \"fingerprint-2\""]), .inputsWillRun(["b"])])
    }

    func testBumpedKindVersionInvalidatesThatKindAndDownstream() throws {
        let p = try planner(), state = FakeState()
        cache(p.graph.order, in: state, planner: p)
        struct JoinV2: StageKind {
            static let name = "join"
            static let version = 2
            func validate(_ params: StageParams) throws { try Toy.Join().validate(params) }
            func run(_ context: StageContext) throws -> Manifest { try Toy.Join().run(context) }
        }
        let registry = StageRegistry([Toy.Emit.self, JoinV2.self])
        let bumped = try Planner(spec: p.spec, registry: registry)
        XCTAssertEqual(try bumped.plan(state: state).filter(\.reason.runs).map(\.stage), ["t[x]", "t[y]", "m", "solo"])
    }

    func testFailedLastRunWithSameKeyIsReportedAsSuch() throws {
        let p = try planner()
        let state = FakeState()
        let key = p.key(of: p.graph.stages["a"]!, outputs: [:])!
        state.last["a"] = LastRun(key: key, outcome: .failed, record: .of("r"), error: "boom")
        XCTAssertEqual(try p.plan(targets: ["a"], state: state).map(\.reason), [.lastRun(.failed)])
    }

    func testOnlyRunsJustTheTargetsAndNeedsTheirInputsCached() throws {
        let p = try planner(), state = FakeState()
        XCTAssertThrowsError(try p.plan(targets: ["m"], only: true, state: state)) {
            XCTAssertEqual("\($0)", "--only m: its input 'a' is not cached; run it first (or drop --only)")
        }
        cache(["a", "t[x]", "t[y]"], in: state, planner: p)
        XCTAssertEqual(try p.plan(targets: ["m"], only: true, state: state).map(\.stage), ["m"])
    }

    func testUnknownTargetSuggestsTheNearName() throws {
        XCTAssertThrowsError(try planner().plan(targets: ["sol"], state: FakeState())) {
            XCTAssertEqual("\($0)", "no stage 'sol' in the pipeline (did you mean 'solo'?)")
        }
    }

    func testKeyIsTheHashOfCanonicalComponents() {
        let key = StageKey(kind: "emit", version: 1, params: ["value": "A"], inputs: ["x": .of("m")])
        XCTAssertEqual(key.json.canonicalText,
                       "{\"inputs\":{\"x\":\"\(ObjectHash.of("m").hex)\"},\"kind\":\"emit\",\"params\":{\"value\":\"A\"},\"version\":1}")
        XCTAssertEqual(key.hash, .of(key.json.canonicalText))
    }
}
