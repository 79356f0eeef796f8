@testable import BTXPipeline
import BTXStore
import XCTest

final class PipelineSpecTests: XCTestCase {
    private func parse(_ text: String) throws -> PipelineSpec {
        try PipelineSpec.parse(text, file: "p.yaml", registry: Toy.registry)
    }

    /// The message `text` is rejected with.
    private func error(_ text: String) -> String {
        do { _ = try parse(text); return "no error" } catch { return "\(error)" }
    }

    func testFanOutTemplatesAndWildcardsExpandToInstances() throws {
        let spec = try parse("""
        name: demo
        vars: {greeting: hi, domains: [code, math], n: 3}
        models:
          s: {dim: "${vars.n}", layers: 2}
        stages:
          seed:
            kind: emit
            params: {value: "${vars.greeting} ${pipeline}", count: "${vars.n}"}
          branch:
            foreach: ${vars.domains}
            kind: emit
            params:
              value: "${item}-${models.s.layers}"
          train:
            foreach: [{name: code, steps: 2}, {name: math, steps: 4}]
            kind: count
            params: {steps: "${item.steps}"}
            inputs: {from: "branch[${item.name}]", seed: seed}
          mix:
            kind: join
            inputs:
              parts: train[*]
          pair:
            kind: join
            inputs:
              parts: [seed, "branch[math]"]
        """)
        XCTAssertEqual(spec.stages.map(\.name),
                       ["seed", "branch[code]", "branch[math]", "train[code]", "train[math]", "mix", "pair"])
        XCTAssertEqual(spec.stage("seed")?.params, ["value": "hi demo", "count": 3])
        XCTAssertEqual(spec.models["s"], ["dim": 3, "layers": 2])
        XCTAssertEqual(spec.stage("branch[math]")?.params["value"], "math-2")
        XCTAssertEqual(spec.stage("train[math]")?.params["steps"], 4)
        XCTAssertEqual(spec.stage("train[code]")?.inputs,
                       [StageInput(name: "from", stages: ["branch[code]"], isList: false),
                        StageInput(name: "seed", stages: ["seed"], isList: false)])
        XCTAssertEqual(spec.stage("mix")?.inputs.first?.slots.map(\.slot), ["parts.0", "parts.1"])
        XCTAssertEqual(spec.stage("pair")?.dependencies, ["seed", "branch[math]"])
        XCTAssertEqual(spec.store, "store/")
    }

    func testWholeStringTemplateInsertsAMapping() throws {
        let spec = try parse("""
        name: m
        models: {s: {dim: 8}}
        stages:
          a: {kind: emit, params: {value: x}}
        """)
        XCTAssertEqual(try TemplateScope(root: ["models": .object(spec.models)]).expand("${models.s}"), ["dim": 8])
    }

    func testUnknownTopLevelKeySuggestsTheNearName() {
        XCTAssertEqual(error("name: x\nstagse: {}\n"),
                       "p.yaml:2:1: unknown key 'stagse' in the pipeline (did you mean 'stages'?)")
    }

    func testUnknownStageKeySuggestsTheNearName() {
        XCTAssertEqual(error("name: x\nstages:\n  a:\n    kind: emit\n    parms: {}\n"),
                       "p.yaml:5:5: unknown key 'parms' in stage 'a' (did you mean 'params'?)")
    }

    func testNamesThatCannotBeRefNamesAreRejected() {
        XCTAssertEqual(error("name: my pipe\nstages: {}\n"),
                       "p.yaml:1:7: 'name' must be letters, digits, '.', '_' or '-' (not starting with '.'), got 'my pipe'")
        XCTAssertEqual(error("name: x\nstages:\n  a: {kind: emit, foreach: [ok, 'a/b']}\n"),
                       "p.yaml:3:28: 'a.foreach item' must be letters, digits, '.', '_' or '-' (not starting with '.'), got 'a/b'")
    }

    func testMissingKindIsNamed() {
        XCTAssertEqual(error("name: x\nstages:\n  a:\n    params: {}\n"), "p.yaml:3:3: stage 'a' needs 'kind'")
    }

    func testWrongTypeNamesTheField() {
        XCTAssertEqual(error("name: x\nstages:\n  a:\n    kind: emit\n    foreach: 3\n"),
                       "p.yaml:5:14: 'a.foreach' must be a non-empty list")
        XCTAssertEqual(error("name: [x]\nstages: {}\n"), "p.yaml:1:7: 'name' must be a string")
    }

    func testUnknownKindSuggestsTheNearName() {
        XCTAssertEqual(error("name: x\nstages:\n  a: {kind: emitt}\n"),
                       "p.yaml:3:13: stage 'a': unknown kind 'emitt' (did you mean 'emit'?)")
    }

    func testReferenceToMissingStageSuggestsTheNearName() {
        XCTAssertEqual(error("name: x\nstages:\n  seed: {kind: emit}\n  b:\n    kind: join\n    inputs: {parts: sede}\n"),
                       "p.yaml:6:21: stage 'b': input 'sede': no stage 'sede' (did you mean 'seed'?)")
    }

    func testBareReferenceToAFanOutIsRejected() {
        XCTAssertEqual(error("name: x\nstages:\n  t: {kind: emit, foreach: [a, b]}\n  j: {kind: join, inputs: {parts: t}}\n"),
                       "p.yaml:4:35: stage 'j': input 't': 't' fans out; name one instance as t[<item>] or all as t[*]")
        XCTAssertEqual(error("name: x\nstages:\n  t: {kind: emit, foreach: [a, b]}\n  j: {kind: join, inputs: {parts: 't[c]'}}\n"),
                       "p.yaml:4:35: stage 'j': input 't[c]': no instance 't[c]' (did you mean 't[a]'?); there are t[a], t[b]")
    }

    func testParameterOutOfRangeIsLocatedAtTheParameter() {
        XCTAssertEqual(error("name: x\nstages:\n  a:\n    kind: emit\n    params:\n      count: 11\n"),
                       "p.yaml:6:7: stage 'a': parameter 'count': expected an integer in 0...10, got 11")
        XCTAssertEqual(error("name: x\nstages:\n  a:\n    kind: count\n"),
                       "p.yaml:4:11: stage 'a': parameter 'steps' is required (an integer)")
    }

    func testUnknownParameterSuggestsTheNearName() {
        XCTAssertEqual(error("name: x\nstages:\n  a:\n    kind: emit\n    params: {valeu: 1}\n"),
                       "p.yaml:5:14: stage 'a': unknown parameter 'valeu' (did you mean 'value'?)")
    }

    func testCycleIsReportedWithItsStages() {
        XCTAssertEqual(error("""
        name: x
        stages:
          a: {kind: join, inputs: {parts: [c]}}
          b: {kind: join, inputs: {parts: [a]}}
          c: {kind: join, inputs: {parts: [b]}}
        """), "p.yaml:3:3: the inputs form a cycle: a -> c -> b -> a")
    }

    func testUnknownTemplateNameSuggestsTheNearName() {
        XCTAssertEqual(error("name: x\nvars: {steps: 2}\nstages:\n  a: {kind: emit, params: {value: '${vars.stpes}'}}\n"),
                       "p.yaml:4:35: template '${vars.stpes}': vars has no 'stpes' (did you mean 'steps'?)")
    }

    func testMalformedYAMLIsASyntaxErrorWithItsLine() {
        XCTAssertTrue(error("name: x\nstages:\n  a: {kind: emit\n").hasPrefix("p.yaml:4:1: invalid YAML: "), error("name: x\nstages:\n  a: {kind: emit\n"))
    }

    func testQuotedNumbersStayStrings() throws {
        let spec = try parse("name: x\nstages:\n  a: {kind: emit, params: {value: '3'}}\n")
        XCTAssertEqual(spec.stage("a")?.params["value"], "3")
    }

    func testEditDistanceCountsSingleEdits() {
        XCTAssertEqual(NameSuggestion.editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(NameSuggestion.editDistance("", "ab"), 2)
        XCTAssertEqual(NameSuggestion.editDistance("stpes", "steps"), 1)
        XCTAssertNil(NameSuggestion.closest(to: "zzzz", among: ["stages"]))
    }
}
