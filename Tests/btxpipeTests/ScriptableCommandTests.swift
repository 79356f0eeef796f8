import BTXStore
import Foundation
import TestSupport
import XCTest

/// The command line as scripts use it, through the real binary: `--json`, `--set`, `kinds`,
/// `completion`, `-q`, and one exit code per kind of outcome.
final class ScriptableCommandTests: XCTestCase {
    private func pipeline(greeting: String = "hello") -> String {
        """
        name: cli
        vars: {greeting: \(greeting), parts: [a, b]}
        stages:
          seed: {kind: text, params: {text: "${vars.greeting}"}}
          part:
            foreach: "${vars.parts}"
            kind: text
            params: {text: "part ${item}", steps: 2}
          all:
            kind: concat
            inputs: {parts: [seed, "part[*]"]}
        """
    }

    private func setUp(_ files: [String: String]) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        for (name, text) in files { try text.write(toFile: dir.path(name), atomically: false, encoding: .utf8) }
        return dir
    }

    @discardableResult
    private func btx(_ arguments: [String], in dir: TemporaryDirectory, expect status: Int32 = 0,
                     line: UInt = #line) throws -> CommandResult {
        try BTXPipeBinary.expect(arguments, in: dir.url, status: status, line: line)
    }

    private func json(_ result: CommandResult) throws -> JSONValue { try JSONValue.parse(Data(result.stdout.utf8)) }

    func testSetGivesTheSamePlanAndKeysAsEditingTheFile() throws {
        let dir = try setUp(["p.yaml": pipeline(), "edited.yaml": pipeline(greeting: "bye")])
        let viaSet = try json(btx(["plan", "p.yaml", "--json", "--set", "vars.greeting=bye"], in: dir))
        let edited = try json(btx(["plan", "edited.yaml", "--json"], in: dir))
        XCTAssertEqual(viaSet, edited)
        XCTAssertNotEqual(viaSet, try json(btx(["plan", "p.yaml", "--json"], in: dir)))
        let flow = try json(btx(["plan", "p.yaml", "--json", "--set", "vars.parts=[x, y, z]"], in: dir))
        XCTAssertEqual(flow.arrayValue?.compactMap { $0["stage"]?.stringValue }, ["seed", "part[x]", "part[y]", "part[z]", "all"])
    }

    func testEveryKindOfBadInvocationExitsTwo() throws {
        let dir = try setUp(["p.yaml": pipeline()])
        for arguments in [["plan"], ["plan", "p.yaml", "--frobnicate"], ["no-such-command"], ["run", "p.yaml", "-j", "0"],
                          ["plan", "p.yaml", "--set", "vars.greeting"], ["plan", "p.yaml", "--set", "vras.x=1"],
                          ["plan", "missing.yaml"], ["show", "p.yaml", "nope"], ["kinds", "nope"], ["completion", "tcsh"],
                          ["run", "p.yaml", "-q", "-v"]] {
            let result = try btx(arguments, in: dir, expect: 2)
            XCTAssertFalse(result.stderr.isEmpty, "\(arguments): says why")
        }
        XCTAssertTrue(try btx(["--help"], in: dir).stdout.contains("2 bad usage"))
    }

    func testStatusShowAndStoreSpeakJSON() throws {
        let dir = try setUp(["p.yaml": pipeline()])
        let quiet = try btx(["run", "p.yaml", "-q"], in: dir)
        XCTAssertEqual(quiet.stderr.split(separator: "\n").count, 1, "-q leaves only the summary: \(quiet.stderr)")
        let status = try json(btx(["status", "p.yaml", "--json"], in: dir))
        XCTAssertEqual(status.arrayValue?.compactMap { $0["status"]?.stringValue }, ["cached", "cached", "cached", "cached"])
        XCTAssertEqual(status.arrayValue?.first?["key"]?.stringValue?.count, 64)
        let show = try json(btx(["show", "p.yaml", "all", "--json"], in: dir))
        XCTAssertEqual(show["kind"]?.stringValue, "concat")
        XCTAssertEqual(show["inputs"]?.arrayValue?.count, 3)
        XCTAssertNotNil(show["manifest"]?["kind"])
        let list = try json(btx(["store", "ls", "--json"], in: dir))
        XCTAssertEqual(list["actions"]?.arrayValue?.count, 4)
        let usage = try json(btx(["store", "du", "--json"], in: dir))
        XCTAssertGreaterThan(usage["objects"]?.intValue ?? 0, 0)
    }

    func testKindsListParametersWithTypesAndDefaults() throws {
        let dir = try TemporaryDirectory()
        let text = try btx(["kinds", "train"], in: dir).stdout
        XCTAssertTrue(text.hasPrefix("train (v"), text)
        XCTAssertTrue(text.contains("  steps: integer, 1...10000000, required — optimizer steps"), text)
        XCTAssertTrue(text.contains("  batch_size: integer, 1...4096, default 8 — sequences per batch\n"), text)
        XCTAssertTrue(text.contains("  warmup_steps: integer, 0...10000000, default min(20, steps / 10) — linear warm-up"), text)
        let fetch = try btx(["kinds", "fetch"], in: dir).stdout
        for name in ["domain", "path", "url", "include", "exclude", "format", "text_field", "sha256", "max_bytes"] {
            XCTAssertTrue(fetch.contains("\n  \(name): "), "kinds fetch lists \(name):\n\(fetch)")
        }
        let all = try json(btx(["kinds", "--json"], in: dir)).arrayValue ?? []
        let train = all.first { $0["kind"] == "train" }?["parameters"]?.arrayValue ?? []
        let warmup = train.first { $0["name"] == "warmup_steps" }
        XCTAssertEqual(warmup?["default_rule"], "min(20, steps / 10)")
        XCTAssertNil(warmup?["default"], "no placeholder value as the default")
        XCTAssertTrue(all.count >= 15)
        XCTAssertTrue(all.allSatisfy { $0["summary"]?.stringValue?.isEmpty == false })
    }

    func testCompletionScriptsForEachShell() throws {
        let dir = try TemporaryDirectory()
        XCTAssertTrue(try btx(["completion", "bash"], in: dir).stdout.contains("-F _btxpipe btxpipe"))
        XCTAssertTrue(try btx(["completion", "zsh"], in: dir).stdout.contains("#compdef btxpipe"))
        XCTAssertTrue(try btx(["completion", "fish"], in: dir).stdout.contains("complete -c 'btxpipe'"))
    }
}
