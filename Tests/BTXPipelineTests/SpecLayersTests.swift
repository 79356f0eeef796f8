@testable import BTXPipeline
import BTXStore
import TestSupport
import XCTest

/// `extends:` — a spec laid over a base spec (SpecLayers.swift).
final class SpecLayersTests: XCTestCase {
    private static let base = """
    name: base
    store: base-store/
    vars: {n: 2, eval: {batches: 3, size: 4}, word: hi}
    stages:
      a:
        kind: emit
        params: {value: "${vars.word}", count: "${vars.n}"}
      b:
        kind: emit
        params: {value: "b", count: "${vars.eval.batches}"}
      c:
        kind: join
        inputs: {parts: [a, b]}
    """

    /// A fresh directory holding `files` (name → text).
    private func directory(_ files: [String: String]) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        for (name, text) in files { try text.write(toFile: dir.path(name), atomically: true, encoding: .utf8) }
        return dir
    }

    /// `files` written to a fresh directory, and the spec `main` there.
    private func load(_ files: [String: String], main: String = "child.yaml") throws -> (PipelineSpec, TemporaryDirectory) {
        let dir = try directory(files)
        return (try PipelineSpec.load(path: dir.path(main), registry: Toy.registry), dir)
    }

    /// The one-line message loading `main` fails with, and the directory's path (to check file names).
    private func error(_ files: [String: String], main: String = "child.yaml") throws -> (message: String, dir: String) {
        let dir = try directory(files)
        do { _ = try PipelineSpec.load(path: dir.path(main), registry: Toy.registry); return ("no error", dir.url.path) } catch {
            return ("\(error)", dir.url.path)
        }
    }

    func testChildVarReplacesTheBaseValueWholeInEveryInheritedStage() throws {
        let (spec, _) = try load(["base.yaml": Self.base, "child.yaml": """
        extends: base.yaml
        name: child
        vars: {eval: {batches: 5}}
        """])
        XCTAssertEqual(spec.name, "child")
        XCTAssertEqual(spec.store, "base-store/")
        XCTAssertEqual(spec.vars["eval"], .object(["batches": .int(5)]), "shallow: the child's eval replaces the base's whole")
        XCTAssertEqual(spec.vars["n"], .int(2))
        XCTAssertEqual(spec.stage("b")?.params["count"], .int(5))
        XCTAssertEqual(spec.stage("a")?.params["value"], .string("hi"))
    }

    func testChildStageReplacesTheBaseStageInPlaceAndNewStagesFollowTheBases() throws {
        let (spec, _) = try load(["base.yaml": Self.base, "child.yaml": """
        extends: base.yaml
        name: child
        store: mine/
        stages:
          d: {kind: join, inputs: {parts: [c, a]}}
          a: {kind: emit, params: {value: replaced}}
          e: {kind: emit}
        """])
        XCTAssertEqual(spec.stages.map(\.name), ["a", "b", "c", "d", "e"])
        XCTAssertEqual(spec.stage("a")?.params, ["value": .string("replaced")], "replaced whole: no count left")
        XCTAssertEqual(spec.stage("d")?.dependencies, ["c", "a"])
        XCTAssertEqual(spec.store, "mine/")
    }

    func testNullChildStageDropsTheBaseStage() throws {
        let (spec, _) = try load(["base.yaml": Self.base, "child.yaml": """
        extends: base.yaml
        name: child
        stages: {c: null, b: ~}
        """])
        XCTAssertEqual(spec.stages.map(\.name), ["a"])
    }

    func testChainOfThreeSpecsMergesNearestFirst() throws {
        let (spec, _) = try load(["base.yaml": Self.base, "middle.yaml": """
        extends: base.yaml
        name: middle
        remotes: [/r1]
        vars: {word: middle, n: 4}
        stages: {f: {kind: emit, params: {value: "${vars.word}"}}}
        """, "child.yaml": """
        extends: ./middle.yaml
        name: child
        vars: {word: child}
        """])
        XCTAssertEqual(spec.name, "child")
        XCTAssertEqual(spec.remotes, .array([.string("/r1")]))
        XCTAssertEqual(spec.stages.map(\.name), ["a", "b", "c", "f"])
        XCTAssertEqual(spec.stage("a")?.params, ["value": .string("child"), "count": .int(4)])
        XCTAssertEqual(spec.stage("f")?.params["value"], .string("child"))
    }

    func testExtendsCycleIsOneLineNamingTheFiles() throws {
        let (message, dir) = try error(["a.yaml": "name: a\nextends: b.yaml\nstages: {}\n",
                                    "b.yaml": "name: b\nextends: a.yaml\nstages: {}\n"], main: "a.yaml")
        XCTAssertEqual(message, "\(dir)/b.yaml:2:10: extends: cycle: \(dir)/a.yaml -> \(dir)/b.yaml -> \(dir)/a.yaml")
        let (selfLoop, dir2) = try error(["a.yaml": "name: a\nextends: a.yaml\nstages: {}\n"], main: "a.yaml")
        XCTAssertEqual(selfLoop, "\(dir2)/a.yaml:2:10: extends: cycle: \(dir2)/a.yaml -> \(dir2)/a.yaml")
    }

    func testMissingBaseIsOneLineAtTheExtendsValue() throws {
        let (message, dir) = try error(["child.yaml": "name: child\nextends: nowhere.yaml\n"])
        XCTAssertTrue(message.hasPrefix("\(dir)/child.yaml:2:10: extends: cannot read '\(dir)/nowhere.yaml' ("), message)
        XCTAssertFalse(message.contains("\n"))
    }

    func testErrorInsideABaseStagePointsAtTheBaseFilesLine() throws {
        let files = ["base.yaml": Self.base, "child.yaml": "extends: base.yaml\nname: child\nvars: {n: 99}\n"]
        let (outOfRange, dir) = try error(files)
        XCTAssertTrue(outOfRange.hasPrefix("\(dir)/base.yaml:7:"), outOfRange)
        let (badTemplate, dir2) = try error(["base.yaml": Self.base, "child.yaml": "extends: base.yaml\nname: child\nvars: {eval: 1}\n"])
        XCTAssertTrue(badTemplate.hasPrefix("\(dir2)/base.yaml:10:"), badTemplate)
        XCTAssertTrue(badTemplate.contains("template '${vars.eval.batches}'"), badTemplate)
        let (syntax, dir3) = try error(["base.yaml": "name: base\nstages: [", "child.yaml": "extends: base.yaml\nname: child\n"])
        XCTAssertTrue(syntax.hasPrefix("\(dir3)/base.yaml:") && syntax.contains("invalid YAML"), syntax)
    }

    func testNameIsRequiredInTheExtendingSpec() throws {
        let (message, dir) = try error(["base.yaml": Self.base, "child.yaml": "extends: base.yaml\nvars: {n: 1}\n"])
        XCTAssertEqual(message, "\(dir)/child.yaml:1:1: the pipeline needs 'name'")
    }

    // MARK: the checked-in pipelines

    /// The checked-in pipelines folder (this file is Tests/BTXPipelineTests/…).
    private var pipelines: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("pipelines")
    }

    /// Every stage's key, with each output standing in as its key's hash (as if everything were cached).
    private func keys(_ file: String) throws -> [String: ObjectHash] {
        let path = pipelines.appendingPathComponent(file).path
        let spec = try SpecParser.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
        let planner = try Planner(spec: spec, registry: StageRegistry([]))
        var outputs: [String: ObjectHash] = [:]
        for name in planner.graph.order {
            outputs[name] = try XCTUnwrap(planner.key(of: planner.graph.stages[name]!, outputs: outputs)).hash
        }
        return outputs
    }

    /// The ablations reuse the default pipeline's cache: every btx.yaml stage but `report` is inherited
    /// with the same key, so `btxpipe run pipelines/ablations.yaml` after `make run` trains only the variants.
    func testAblationsShareTheKeyOfEveryBtxStageButTheReport() throws {
        let btx = try keys("btx.yaml"), ablations = try keys("ablations.yaml")
        for (stage, key) in btx.sorted(by: { $0.key < $1.key }) where stage != "report" {
            XCTAssertEqual(ablations[stage], key, "\(stage) has another key in ablations.yaml: it would not reuse the cache")
        }
        XCTAssertNotEqual(ablations["report"], btx["report"])
        XCTAssertGreaterThan(ablations.count, btx.count)
    }

    /// The sweep's point with btx.yaml's experts and finetune is btx.yaml's own stages (cached after
    /// `make run`), and its dense model is btx.yaml's dense.
    func testTheSweepsDefaultPointIsTheDefaultPipelinesStages() throws {
        let btx = try keys("btx.yaml"), sweep = try keys("sweep.yaml")
        for domain in ["code", "knowledge", "math"] {
            XCTAssertEqual(sweep["expert-sweep[e150-lr1e-3-\(domain)]"], btx["expert[\(domain)]"], domain)
        }
        XCTAssertEqual(sweep["mix-sweep[e150-lr1e-3]"], btx["mix"])
        XCTAssertEqual(sweep["btx-sweep[e150-lr1e-3]"], btx["btx"])
        XCTAssertEqual(sweep["dense-sweep[e150]"], btx["dense"])
        XCTAssertNil(sweep["expert[code]"], "btx.yaml's own copies are dropped")
    }
}
