import BTXData
import BTXModel
import BTXPipeline
@testable import BTXStages
import BTXStore
import TestSupport
import XCTest

final class EvaluateStageTests: XCTestCase {
    private func data(_ store: Store) throws -> [String: Manifest] {
        ["data.0": try StageFixtures.tokens(store, domain: "a", pattern: [1, 2, 3, 4, 5]),
         "data.1": try StageFixtures.tokens(store, domain: "b", pattern: [9, 8, 7])]
    }

    private let params: [String: JSONValue] = ["name": "m", "batch_size": 2, "sequence_length": 16, "max_batches": 3]

    func testEvaluationGivesFiniteLossesPerDomainAndTheModelsCompute() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var inputs = try data(store)
        inputs["model"] = try StageFixtures.seedModel(store)
        let output = try EvaluateStage().run(StageFixtures.context(store, params: params, inputs: inputs))
        XCTAssertEqual(output.kind, "evaluation")
        let a = try XCTUnwrap(output.metadata["domains"]?["a"]?["loss"]?.doubleValue)
        XCTAssertTrue(a.isFinite && a > 0)
        // An untrained model is close to uniform over the 64 tokens.
        XCTAssertEqual(a, log(64), accuracy: 0.3)
        XCTAssertEqual(output.metadata["domain_order"], ["a", "b"])
        XCTAssertEqual(output.metadata["compute"]?["flops"]?.doubleValue, 0)
    }

    func testHeldOutLossEqualsTheModelsOwnMeanCrossEntropy() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let manifest = try StageFixtures.seedModel(store)
        let model = try ModelLoader.inference(manifest, input: "model", store: store, batchSize: 2, sequenceLength: 16, threads: 1)
        let tokens = (0..<200).map { UInt32($0 * 7 % 64) }
        let batches = try EvaluateStage.validationBatches(tokens, model: model, domain: 0)
        let result = try EvaluateStage.heldOut(model, batches: [batches.batch(0)], domain: 0)
        let single = try XCTUnwrap(model as? SingleModel)
        let batch = (0..<2).flatMap { b in (0...16).map { Int32(tokens[b * 16 + $0]) } }
        let reference = try batch.withUnsafeBufferPointer { try single.model.forward(sequences: $0) }
        XCTAssertEqual(result.loss, Double(reference), accuracy: 1e-5)
        // Each sequence's loss is that sequence scored alone.
        XCTAssertEqual(result.sequenceLosses.count, 2)
        let alone = try ModelLoader.inference(manifest, input: "model", store: store, batchSize: 1, sequenceLength: 16, threads: 1)
        for b in 0..<2 {
            let one = try EvaluateStage.heldOut(alone, batches: [Array(batch[(b * 17)..<(b * 17 + 17)])], domain: 0)
            XCTAssertEqual(one.loss, result.sequenceLosses[b], accuracy: 1e-5)
        }
    }

    func testEvaluationStoresSequenceLossesAndTheMixedDomainSet() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var inputs = try data(store)
        inputs["model"] = try StageFixtures.seedModel(store)
        let output = try EvaluateStage().run(StageFixtures.context(store, params: params, inputs: inputs))
        for d in ["a", "b"] {
            let losses = try XCTUnwrap(output.metadata["domains"]?[d]?["sequence_losses"]?.arrayValue).compactMap(\.doubleValue)
            XCTAssertEqual(losses.count, 3 * 2)  // max_batches × batch_size
            XCTAssertEqual(losses.reduce(0, +) / 6, try XCTUnwrap(output.metadata["domains"]?[d]?["loss"]?.doubleValue), accuracy: 1e-5)
        }
        let mixed = try XCTUnwrap(output.metadata["mixed"]?["sequence_losses"]?.arrayValue)
        XCTAssertEqual(mixed.count, 6)
        XCTAssertNotNil(output.metadata["mixed"]?["loss"]?.doubleValue)
        XCTAssertNil(output.metadata["domains"]?["mixed"], "the mixed set is not a domain: it must not enter the average")
    }

    func testMixedDomainSequencesSwitchDomainInSegmentsOf32To64Tokens() {
        // Domain d's tokens are 100,000·d + position, so each token tells its domain.
        let domains: [[UInt32]] = (0..<3).map { d in (0..<1000).map { UInt32(100_000 * d + $0) } }
        let mixed = MixedDomainBatches(domains: domains, batchSize: 4, sequenceLength: 255, count: 5, seed: 7)
        XCTAssertEqual(mixed.batches.count, 5)
        var seen = Set<Int>()
        for batch in mixed.batches {
            XCTAssertEqual(batch.count, 4 * 256)
            for row in 0..<4 {
                let tokens = batch[(row * 256)..<(row * 256 + 256)].map { Int($0) }
                // Runs of one domain: every run but the row's last is 32–64 tokens, consecutive in its domain.
                var runs: [(domain: Int, count: Int)] = []
                for (i, t) in tokens.enumerated() {
                    let d = t / 100_000
                    seen.insert(d)
                    if let last = runs.last, last.domain == d {
                        XCTAssertEqual(t % 100_000, (tokens[i - 1] + 1) % 100_000 % 1000, "in order within a segment")
                        runs[runs.count - 1].count += 1
                    } else { runs.append((d, 1)) }
                }
                XCTAssertGreaterThanOrEqual(runs.count, 4, "a 256-token row holds at least 4 segments")
                for run in runs.dropLast() { XCTAssertTrue(MixedDomainBatches.segmentLengths.contains(run.count), "\(run)") }
                for (a, b) in zip(runs, runs.dropFirst()) { XCTAssertNotEqual(a.domain, b.domain) }
            }
        }
        XCTAssertEqual(seen, [0, 1, 2])
        // Deterministic in the seed.
        XCTAssertEqual(MixedDomainBatches(domains: domains, batchSize: 4, sequenceLength: 255, count: 5, seed: 7).batches, mixed.batches)
        XCTAssertNotEqual(MixedDomainBatches(domains: domains, batchSize: 4, sequenceLength: 255, count: 5, seed: 8).batches, mixed.batches)
    }

    func testEnsembleOfIdenticalExpertsEqualsOneExpert() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var inputs = try data(store)
        let model = try StageFixtures.seedModel(store)
        inputs["model"] = model
        let single = try EvaluateStage().run(StageFixtures.context(store, params: params, inputs: inputs))
        inputs["model"] = nil
        inputs["experts.0"] = model
        inputs["experts.1"] = model
        let ensemble = try EvaluateStage().run(StageFixtures.context(store, params: params, inputs: inputs))
        for d in ["a", "b"] {
            let x = try XCTUnwrap(single.metadata["domains"]?[d]?["loss"]?.doubleValue)
            let y = try XCTUnwrap(ensemble.metadata["domains"]?[d]?["loss"]?.doubleValue)
            XCTAssertEqual(x, y, accuracy: 1e-5)
        }
    }

    func testEnsembleWeightsArePosteriorsOverTheTopExperts() {
        var w = [Double](repeating: 0, count: 3)
        EnsembleModel.weights([log(0.2), log(0.6), log(0.2)], topK: 3, into: &w)
        XCTAssertEqual(w[1], 0.6, accuracy: 1e-12)
        EnsembleModel.weights([log(0.1), log(0.6), log(0.3)], topK: 2, into: &w)
        XCTAssertEqual(w, [0, 2.0 / 3, 1.0 / 3].map { $0 }, accuracy: 1e-12)
    }

    func testTfIdfCosineMatchesAHandComputedToyExample() {
        // Domain 0: tokens 0 0 1; domain 1: tokens 1 2 2; token 3 unseen. D = 2.
        let tfidf = DomainTfIdf(domains: [[0, 0, 1], [1, 2, 2]], vocabularySize: 4)
        let rare = log(3.0 / 2) + 1, common = log(3.0 / 3) + 1  // df 1 and df 2
        XCTAssertEqual(tfidf.idf, [rare, common, rare, log(3.0) + 1], accuracy: 1e-12)
        let a = [2 * rare, common, 0, 0], b = [0, common, 2 * rare, 0]
        func cosine(_ x: [Double], _ y: [Double]) -> Double {
            zip(x, y).map { $0 * $1 }.reduce(0, +) / (x.map { $0 * $0 }.reduce(0, +).squareRoot() * y.map { $0 * $0 }.reduce(0, +).squareRoot())
        }
        var context = tfidf.context(), got = [0.0, 0.0]
        for token: Int32 in [0, 1, 0, 3] { context.add(token) }  // tf = [2, 1, 0, 1]
        context.cosines(into: &got)
        let x = [2 * rare, common, 0, log(3.0) + 1]
        XCTAssertEqual(got, [cosine(x, a), cosine(x, b)], accuracy: 1e-12)
        XCTAssertGreaterThan(got[0], got[1])
    }

    func testTfIdfGivesASequenceOfDomainDExpertDsLargestWeight() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let patterns: [[UInt32]] = [[1, 2, 3, 4, 5], [9, 8, 7], [20, 30, 40, 50]]
        let corpora = try patterns.enumerated().map { d, pattern in
            try TokenCorpus(StageFixtures.tokens(store, domain: "d\(d)", pattern: pattern), store: store, input: "data.\(d)")
        }
        let tfidf = DomainTfIdf(domains: corpora.map { DomainTfIdf.sample($0.train, budget: 500) }, vocabularySize: 64)
        var scores = [0.0, 0.0, 0.0], weights = scores
        for (d, corpus) in corpora.enumerated() {
            var context = tfidf.context()
            for token in corpus.validation.prefix(16) { context.add(Int32(token)) }
            context.cosines(into: &scores)
            EnsembleModel.weights(scores.map { $0 / 0.1 }, topK: 2, into: &weights)
            XCTAssertEqual(weights.indices.max { weights[$0] < weights[$1] }, d, "\(weights)")
            XCTAssertEqual(weights.filter { $0 > 0 }.count, 2, "top-2")
        }
    }

    func testTfIdfWeightingNeedsAnEnsembleWithOneDomainPerExpertAndIsRecorded() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        var inputs = try data(store)
        inputs["experts.0"] = try StageFixtures.seedModel(store, seed: 1)
        inputs["experts.1"] = try StageFixtures.seedModel(store, seed: 2)
        let tfidf = params.merging(["btm_weighting": "tfidf", "top_k": 1, "temperature": 0.05]) { $1 }
        let output = try EvaluateStage().run(StageFixtures.context(store, params: tfidf, inputs: inputs))
        XCTAssertEqual(output.metadata["btm_weighting"], "tfidf")
        XCTAssertTrue(try XCTUnwrap(output.metadata["average_loss"]?.doubleValue).isFinite)
        inputs["experts.2"] = inputs["experts.1"]
        XCTAssertThrowsError(try EvaluateStage().run(StageFixtures.context(store, params: tfidf, inputs: inputs))) {
            XCTAssertTrue("\($0)".contains("3 experts, 2 data inputs"), "\($0)")
        }
        inputs["model"] = inputs["experts.0"]
        XCTAssertThrowsError(try EvaluateStage().run(StageFixtures.context(store, params: tfidf, inputs: inputs))) {
            XCTAssertTrue("\($0)".contains("an 'experts' input"), "\($0)")
        }
    }

    func testTfIdfSampleTakesEvenlySpacedBlocksOrEverything() {
        let tokens = (0..<1000).map { UInt32($0) }
        XCTAssertEqual(DomainTfIdf.sample(tokens, budget: 2000), tokens)
        let sample = DomainTfIdf.sample(tokens, budget: 128)
        XCTAssertEqual(sample.count, 128)
        XCTAssertEqual(sample.prefix(2), [0, 1])
        XCTAssertEqual(sample.suffix(2), [998, 999])
    }

    func testMathAccuracyNeedsAnAnswerLineToStop() throws {
        let tokenizer = try HFTokenizer(json: BTXData.BPETokenizer(merges: []).huggingFaceJSON())
        let ids = { (s: String) in Array(s.utf8).map { Int32($0) } }
        XCTAssertFalse(MathAccuracy.answerLineEnded(tokenizer, ids("Work: 2+2\nAnswer: 4")))
        XCTAssertTrue(MathAccuracy.answerLineEnded(tokenizer, ids("Work: 2+2\nAnswer: 4\n")))
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
