import BTXModel
import XCTest

final class TrainingBenchmarkTests: XCTestCase {
    func testBenchmarkReportsEveryPhaseAndPositiveRates() throws {
        let setup = TrainingBenchmark.Setup(name: "tiny", config: TinyModel.config(), batchSize: 2, sequenceLength: 8)
        let r = try TrainingBenchmark.run(setup, steps: 2, warmup: 1)
        XCTAssertGreaterThan(r.tokensPerSecond, 0)
        XCTAssertGreaterThan(r.sgemmGFLOPs, 0)
        XCTAssertGreaterThan(r.peakRSSMiB, 0)
        XCTAssertEqual(r.phases.map(\.0), StepPhase.allCases)
        XCTAssertThrowsError(try TrainingBenchmark.setup("XL"))
    }

    func testStandardConfigsMatchTheIssue() throws {
        let m = try TrainingBenchmark.setup("M")
        XCTAssertEqual([m.config.vocabSize, m.config.hiddenSize, m.config.numHiddenLayers, m.config.numAttentionHeads,
                        m.config.intermediateSize, m.sequenceLength, m.batchSize], [4096, 512, 8, 8, 1376, 256, 8])
        XCTAssertFalse(m.config.tieWordEmbeddings)
        let s = try TrainingBenchmark.setup("S")
        XCTAssertEqual([s.config.vocabSize, s.config.hiddenSize, s.config.numHiddenLayers, s.config.numAttentionHeads,
                        s.config.intermediateSize], [2048, 256, 4, 4, 688])
    }

    /// Every `btxpipe bench train` config constructs, the MoE ones with 4 experts top-2 on their base.
    func testEveryTrainBenchConfigConstructs() throws {
        for name in TrainingBenchmark.trainBenchNames {
            let (setup, moe) = try TrainingBenchmark.namedSetup(name)
            XCTAssertEqual(setup.name, name)
            XCTAssertEqual(moe?.numLocalExperts, name.hasSuffix("-MoE") ? 4 : nil)
        }
        let smol = try TrainingBenchmark.setup("SmolLM2-135M")
        XCTAssertEqual([smol.config.hiddenSize, smol.config.numHiddenLayers, smol.config.vocabSize, smol.batchSize,
                        smol.sequenceLength], [576, 30, 49152, 4, 256])
        XCTAssertTrue(smol.config.tieWordEmbeddings)
        XCTAssertThrowsError(try TrainingBenchmark.namedSetup("XL-MoE"))
    }

    func testEachRunReportsItsOwnPeakAboveItsBaseline() throws {
        let setup = TrainingBenchmark.Setup(name: "tiny", config: TinyModel.config(), batchSize: 2, sequenceLength: 8)
        let r = try TrainingBenchmark.run(setup, moe: try MoEConfig(numLocalExperts: 3), steps: 1, warmup: 1)
        XCTAssertGreaterThan(r.tokensPerSecond, 0)
        XCTAssertGreaterThanOrEqual(r.peakRSSMiB, r.baselineRSSMiB)
        XCTAssertGreaterThan(r.baselineRSSMiB, 0)
    }
}
