@testable import BTXPipeline
import BTXStore
import TestSupport
import XCTest

/// `--set PATH=VALUE` (SpecOverride.swift): an override gives exactly the spec that editing the file gives.
final class SpecOverrideTests: XCTestCase {
    private static let spec = """
    name: toy
    vars: {word: hi, n: 2, parts: [x, y]}
    stages:
      a:
        kind: emit
        params: {value: "${vars.word}", count: "${vars.n}"}
      t:
        kind: emit
        foreach: "${vars.parts}"
        params: {value: "${item}"}
      c:
        kind: join
        inputs: {parts: [a, "t[*]"]}
    """

    private func spec(_ text: String, _ sets: [String] = []) throws -> PipelineSpec {
        try PipelineSpec.parse(text, file: "toy.yaml", registry: Toy.registry,
                               overrides: sets.map(SpecOverride.init(parsing:)))
    }

    /// Each stage's parameters and, where it has no inputs, its cache key.
    private func fingerprint(_ spec: PipelineSpec) throws -> [String] {
        let planner = try Planner(spec: spec, registry: Toy.registry)
        return spec.stages.map { stage in
            let key = stage.inputs.isEmpty ? planner.key(of: stage, outputs: [:])?.hash.hex ?? "?" : "-"
            return "\(stage.name) \(JSONValue.object(stage.params).canonicalText) \(key)"
        }
    }

    private func message(_ text: String, _ sets: [String]) -> String {
        do { _ = try spec(text, sets); return "no error" } catch { return "\(error)" }
    }

    func testSettingAVarGivesTheSameStagesAndKeysAsEditingTheFile() throws {
        let edited = Self.spec.replacingOccurrences(of: "n: 2", with: "n: 7")
        XCTAssertEqual(try fingerprint(spec(Self.spec, ["vars.n=7"])), try fingerprint(spec(edited)))
        XCTAssertNotEqual(try fingerprint(spec(Self.spec, ["vars.n=7"])), try fingerprint(spec(Self.spec)))
    }

    func testSettingAStageParameterGivesTheSameKeysAsEditingTheFile() throws {
        let edited = Self.spec.replacingOccurrences(of: "count: \"${vars.n}\"", with: "count: 9")
        XCTAssertEqual(try fingerprint(spec(Self.spec, ["stages.a.params.count=9"])), try fingerprint(spec(edited)))
    }

    func testFlowValuesParseAsYAMLAndNewKeysAreAdded() throws {
        let set = try spec(Self.spec, ["vars.parts=[p, q, r]", "vars.extra={a: 1}", "stages.t.params.count=3"])
        XCTAssertEqual(set.stages.map(\.name), ["a", "t[p]", "t[q]", "t[r]", "c"])
        XCTAssertEqual(set.vars["extra"], .object(["a": .int(1)]))
        XCTAssertEqual(set.stage("t[q]")?.params["count"], .int(3))
        let quoted = try spec(Self.spec, ["vars.word='007'"])
        XCTAssertEqual(quoted.stage("a")?.params["value"], .string("007"))
    }

    func testLaterOverridesWinAndTopLevelScalarsCanBeSet() throws {
        let set = try spec(Self.spec, ["vars.n=3", "vars.n=4", "store=elsewhere/"])
        XCTAssertEqual(set.stage("a")?.params["count"], .int(4))
        XCTAssertEqual(set.store, "elsewhere/")
    }

    func testBadOverridesAreOneLineErrorsNamingTheOverride() {
        XCTAssertEqual(message(Self.spec, ["vars.n"]), "--set vars.n: expected PATH=VALUE, e.g. vars.seed=2")
        XCTAssertTrue(message(Self.spec, ["vras.n=1"]).hasPrefix("--set vras.n=1: 'vras' cannot be set (did you mean 'vars'?)"),
                      message(Self.spec, ["vras.n=1"]))
        XCTAssertEqual(message(Self.spec, ["vars.word.x=1"]), "--set vars.word.x=1: cannot set 'x' inside a scalar value")
        XCTAssertEqual(message(Self.spec, ["vars..n=1"]),
                       "--set vars..n=1: the path must be dotted keys, e.g. stages.seed.params.steps")
        XCTAssertTrue(message(Self.spec, ["stages.a.params.count=99"]).contains("count"), "validated like the file")
        XCTAssertFalse(message(Self.spec, ["vars.n=[1"]).contains("\n"))
    }

    func testSubmittedJobsRunTheSpecWithTheSameOverrides() {
        var settings = SlurmSettings(executable: "/bin/btxpipe", pipeline: "/p.yaml", store: "/s", remotes: ["r"], logDirectory: "/l")
        settings.overrides = ["vars.seed=2", "vars.word=it's"]
        let job = SlurmJob(name: "g:a", stages: ["a"], dependencies: [], isArray: false)
        let script = SlurmSubmitter(commands: NoCommands(), settings: settings).script(job)
        XCTAssertTrue(script.contains("--remote 'r' --set 'vars.seed=2' --set 'vars.word=it'\\''s' -j 1"), script)
    }
}

/// A command runner that is never called.
private struct NoCommands: CommandRunner {
    func run(_ executable: String, _ arguments: [String], input: Data?) throws -> (status: Int32, stdout: String, stderr: String) {
        XCTFail("unexpected command \(executable)")
        return (1, "", "")
    }
}
