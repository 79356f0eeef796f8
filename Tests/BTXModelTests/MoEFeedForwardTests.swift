@testable import BTXModel
import BTXTensor
import TestSupport
import XCTest

final class MoEFeedForwardTests: XCTestCase {
    /// One MoE layer on its own, with its parameters, gradients and runtime.
    struct Layer {
        let layer: MoEFeedForward, runtime: MoERuntime, parameters: ParameterSet, gradients: ParameterSet
        let N: Int, C: Int

        init(_ moe: MoEConfig, index l: Int = 1, N: Int = 9, statistics: MoERoutingStatistics? = nil, training: Bool = true) {
            let c = TinyModel.config()
            parameters = ParameterSet(layout: MoEParameters.blockLayout(c, moe, layer: l))
            LlamaParameters.initialize(parameters, seed: 5, std: 0.5)
            gradients = parameters.zerosLike()
            runtime = MoERuntime(moe: moe, layers: l + 1, hiddenSize: c.hiddenSize, rows: N, training: training,
                                 noiseSeed: 3, statistics: statistics)
            let context = FeedForwardContext(config: c, parameters: parameters, gradients: training ? gradients : nil, maxRows: N,
                                             scratch: FeedForwardScratch(rows: N, width: c.intermediateSize, training: training),
                                             threads: 2)
            layer = MoEFeedForward(layer: l, runtime: runtime, context: context)
            self.N = N
            C = c.hiddenSize
        }

        /// `out` of a forward pass from zero on `x` (same noise every call).
        func forward(_ x: [Float]) -> [Float] {
            runtime.callsThisStep = runtime.callsThisStep.map { _ in 0 }
            var out = [Float](repeating: 0, count: N * C)
            layer.forward(&out, x, N)
            return out
        }
    }

    /// Checks ∂(Σ w·out + aux)/∂(input, every parameter) against central differences.
    /// `outputWeight` 0 leaves the load-balancing loss alone (its gradient is small next to the output's).
    func assertLayerGradientsMatchFiniteDifferences(_ moe: MoEConfig, layer l: Int = 1, outputWeight: Float = 1,
                                                    file: StaticString = #filePath, line: UInt = #line) {
        let t = Layer(moe, index: l)
        let x = GradientCheck.randomFloats(t.N * t.C, seed: 7)
        let w = GradientCheck.randomFloats(t.N * t.C, seed: 8).map { $0 * outputWeight }
        let lossScale: Float = 0.5
        let loss = { (x: [Float]) -> Double in
            GradientCheck.project(t.forward(x), w) + Double(lossScale) * Double(t.layer.auxiliaryLoss)
        }
        _ = t.forward(x)
        var dx = [Float](repeating: 0, count: x.count)
        t.layer.backward(&dx, w, x, t.N, lossScale: lossScale)
        XCTAssertLessThan(GradientCheck.relativeError(x, analytic: dx, eps: 1e-3, loss: loss), 1e-2,
                          "input gradient, \(moe.routing)", file: file, line: line)
        let p0 = t.parameters.flat
        let paramLoss = { (p: [Float]) -> Double in
            p.withUnsafeBufferPointer { t.parameters.storage.update(from: $0.baseAddress!, count: p.count) }
            return loss(x)
        }
        XCTAssertLessThan(GradientCheck.relativeError(p0, analytic: t.gradients.flat, eps: 1e-3, loss: paramLoss), 1e-2,
                          "parameter gradients, \(moe.routing)", file: file, line: line)
        // The router's gradient is small next to the experts': check it on its own scale.
        let router = t.parameters.entry(MoEParameters.router(l))!
        let routerGrad = try! t.gradients.values(router.name)
        XCTAssertGreaterThan(routerGrad.map(abs).max()!, 1e-4, "the router must get a gradient", file: file, line: line)
        let routerLoss = { (r: [Float]) -> Double in
            r.withUnsafeBufferPointer { (t.parameters.storage + router.offset).update(from: $0.baseAddress!, count: r.count) }
            return loss(x)
        }
        XCTAssertLessThan(GradientCheck.relativeError(Array(p0[router.offset..<(router.offset + router.count)]),
                                                      analytic: routerGrad, eps: 1e-3, loss: routerLoss), 1e-2,
                          "router gradient, \(moe.routing)", file: file, line: line)
    }

    func testTopKLayerGradientsMatchFiniteDifferences() throws {
        assertLayerGradientsMatchFiniteDifferences(try MoEConfig(numLocalExperts: 4, routerAuxLossCoef: 0.1))
    }

    func testSwitchLayerGradientsMatchFiniteDifferencesWithDroppedTokens() throws {
        let moe = try MoEConfig(numLocalExperts: 3, routerAuxLossCoef: 0.1, routing: .switchTop1, capacityFactor: 1.0)
        assertLayerGradientsMatchFiniteDifferences(moe)
    }

    func testSampleTop1LayerGradientsMatchFiniteDifferences() throws {
        let moe = try MoEConfig(numLocalExperts: 4, routerAuxLossCoef: 0.1, routing: .sampleTop1)
        assertLayerGradientsMatchFiniteDifferences(moe, layer: 1)
        assertLayerGradientsMatchFiniteDifferences(moe, layer: 0)  // the soft first layer
    }

    func testSoftLayerGradientsMatchFiniteDifferences() throws {
        assertLayerGradientsMatchFiniteDifferences(try MoEConfig(numLocalExperts: 3, routerAuxLossCoef: 0.1, routing: .soft))
    }

    func testLoadBalancingLossGradientAloneMatchesFiniteDifferencesForEveryRouting() throws {
        for kind in RoutingKind.allCases {
            let moe = try MoEConfig(numLocalExperts: 4, routerAuxLossCoef: 1, routing: kind, capacityFactor: 1)
            assertLayerGradientsMatchFiniteDifferences(moe, outputWeight: 0)
        }
    }

    func testLayerWithoutLoadBalancingReportsZeroAuxiliaryLoss() throws {
        let t = Layer(try MoEConfig(numLocalExperts: 4, routerAuxLossCoef: 0))
        _ = t.forward(GradientCheck.randomFloats(t.N * t.C, seed: 7))
        XCTAssertEqual(t.layer.auxiliaryLoss, 0)
        assertLayerGradientsMatchFiniteDifferences(try MoEConfig(numLocalExperts: 4, routerAuxLossCoef: 0))
    }

    func testSwitchCapacityDropsOverflowTokensToTheResidual() throws {
        let moe = try MoEConfig(numLocalExperts: 2, routing: .switchTop1, capacityFactor: 0.5)
        let t = Layer(moe, N: 8)  // capacity ⌈0.5 · 8 / 2⌉ = 2 per expert
        let out = t.forward(GradientCheck.randomFloats(t.N * t.C, seed: 7))
        XCTAssertEqual(t.layer.lastDropped, 4)
        XCTAssertEqual(t.layer.lastCounts, [2, 2])
        let zeroRows = (0..<t.N).filter { n in out[n * t.C..<(n + 1) * t.C].allSatisfy { $0 == 0 } }
        XCTAssertEqual(zeroRows.count, 4, "dropped tokens get no FFN output")
        // Evaluation keeps every token: the capacity limit is a training device.
        let evaluation = Layer(moe, N: 8, training: false)
        let all = evaluation.forward(GradientCheck.randomFloats(evaluation.N * evaluation.C, seed: 7))
        XCTAssertEqual(evaluation.layer.lastDropped, 0)
        XCTAssertEqual(evaluation.layer.lastCounts.reduce(0, +), 8)
        XCTAssertFalse((0..<8).contains { n in all[n * t.C..<(n + 1) * t.C].allSatisfy { $0 == 0 } })
    }

    func testRoutingStatisticsSumToTheTokenCount() throws {
        let moe = try MoEConfig(numLocalExperts: 4)
        let stats = MoERoutingStatistics(layers: 2, experts: 4, domains: 2, maxRows: 9)
        for n in 0..<9 { stats.rowDomains.pointer[n] = n < 4 ? 0 : 1 }
        let t = Layer(moe, N: 9, statistics: stats)
        _ = t.forward(GradientCheck.randomFloats(t.N * t.C, seed: 7))
        let total = (0..<4).reduce(0) { $0 + stats.tokens(layer: 1, expert: $1) }
        XCTAssertEqual(total, 9 * 2, "each token is counted once per chosen expert (top-2)")
        XCTAssertEqual((0..<4).reduce(0) { $0 + stats.tokens(layer: 1, expert: $1, domain: 0) }, 4 * 2)
        XCTAssertEqual(stats.loadFractions()[1][1].reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(t.layer.lastCounts.reduce(0, +), 18)
    }

    func testPerSequenceSharesCountEachSequencesRowsOverLayersThenStartAgain() throws {
        let moe = try MoEConfig(numLocalExperts: 4)
        let stats = MoERoutingStatistics(layers: 2, experts: 4, domains: 1, maxRows: 9, rowsPerSequence: 3)
        let t = Layer(moe, N: 9, statistics: stats)
        _ = t.forward(GradientCheck.randomFloats(t.N * t.C, seed: 7))
        let shares = stats.takeSequenceShares()
        XCTAssertEqual(shares.count, 3, "9 rows of 3 per sequence")
        for row in shares { XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-12) }
        // Each sequence made 3 rows × top-2 = 6 assignments: the shares times 6 add up to the layer's counts.
        let recorded = (0..<4).map { e in (0..<2).reduce(0) { $0 + stats.tokens(layer: $1, expert: e) } }
        for e in 0..<4 { XCTAssertEqual(shares.reduce(0) { $0 + $1[e] * 6 }, Double(recorded[e]), accuracy: 1e-9) }
        XCTAssertEqual(stats.takeSequenceShares(), Array(repeating: [0, 0, 0, 0], count: 3), "taking the shares starts a new count")
        XCTAssertEqual(MoERoutingStatistics(layers: 1, experts: 2, maxRows: 4).takeSequenceShares(), [], "off unless rowsPerSequence is set")
    }
}
