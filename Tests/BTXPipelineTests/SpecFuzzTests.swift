@testable import BTXPipeline
import BTXStore
import Foundation
import TestSupport
import XCTest

/// Mutated pipeline YAML (issue 15's fuzzing figure): every input parses or is refused with a
/// one-line error naming the file; never a crash or a hang. `make soak` runs 10,000.
final class SpecFuzzTests: XCTestCase {
    private let seeds = ["""
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
    """, """
    name: r
    stages:
      a: {kind: emit, params: {value: A}}
      t:
        foreach: [x, y]
        kind: emit
        params: {value: "${item}"}
      m: {kind: join, inputs: {parts: [a, 't[*]']}}
    """]

    func testMutatedPipelineYAMLParsesOrFailsWithOneLine() {
        let outcome = FuzzHarness.run(format: "pipeline-yaml", seeds: seeds.map { Array($0.utf8) }) { bytes in
            _ = try PipelineSpec.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml", registry: Toy.registry)
        }
        XCTAssertEqual(outcome.multiLine, [], "errors must be one line")
        XCTAssertLessThan(outcome.slowest, 5, "an input took \(outcome.slowest) s: a hang?")
        XCTAssertGreaterThan(outcome.rejected, 0)
    }
}
