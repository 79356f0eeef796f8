import BTXModel
import BTXPipeline
@testable import BTXStages
import BTXStore
import TestSupport
import XCTest

/// A fake model whose greedy choice is the true next token exactly where `knows` says so (and a
/// wrong token elsewhere): what a model that knows the answers looks like to scoring.
private final class ScriptedModel: EvaluatedModel {
    let batchSize: Int, sequenceLength: Int
    let knows: (_ row: Int, _ position: Int) -> Bool
    var maxContext: Int { sequenceLength + 1 }

    init(batchSize: Int, sequenceLength: Int, knows: @escaping (Int, Int) -> Bool) {
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.knows = knows
    }

    func targetProbabilities(_ batch: [Int32], domain: Int, into out: inout [Float], top1: inout [Bool]) throws {
        for b in 0..<batchSize {
            for t in 0..<sequenceLength {
                top1[b * sequenceLength + t] = knows(b, t)
                out[b * sequenceLength + t] = knows(b, t) ? 0.9 : 0.05
            }
        }
    }

    func generate(prompt: [Int32], maxNewTokens: Int, stop: Set<Int32>, isDone: ([Int32]) -> Bool) throws -> [Int32] { [] }
    func routing(domains: [String]) -> JSONValue? { nil }
}

final class DownstreamAndTuningTests: XCTestCase {
    /// A toy vocabulary: token i spells `pieces[i]`; token 0 is EOS (no bytes).
    private let pieces: [[UInt8]] = ["", "self", ".", "items", "(", ")", "\n", "Answer", ":", " 4", "2", "{", "abet", "}", " ", "[syn:", " abet", ",", " 1:"].map { Array($0.utf8) }

    private func ids(_ words: [String]) -> [Int32] {
        words.map { w in Int32(pieces.firstIndex(of: Array(w.utf8))!) }
    }

    func testSpansAreTheTokensAfterEachMarkerUpToTheirEnd() {
        let code = SpanTask(after: Array(".".utf8), end: .identifier)
        // self . items ( ) \n self . items : the second span has no character after it in the row: not counted.
        let row = ids(["self", ".", "items", "(", ")", "\n", "self", ".", "items"])
        XCTAssertEqual(code.spans(row, batchSize: 1, sequenceLength: 8, pieces: pieces), [[1]])  // position 1 predicts token 2
        let math = SpanTask(after: Array("Answer:".utf8), end: .newline)
        let answer = ids(["Answer", ":", " 4", "2", "\n", "self"])
        XCTAssertEqual(math.spans(answer, batchSize: 1, sequenceLength: 5, pieces: pieces), [[1, 2]])
        // "Answer:" split over two tokens still marks the span; an EOS inside the span drops it.
        let cut = ids(["Answer", ":", " 4", "", "2", "\n"])
        XCTAssertEqual(math.spans(cut, batchSize: 1, sequenceLength: 5, pieces: pieces), [])
        let knowledge = SpanTask(after: Array("{".utf8), end: .literal(Array("}".utf8)))
        let two = ids(["{", "abet", "}", " ", "{", "abet", "}", " "]) + ids(["self", ".", "items", "(", "{", "}", " ", "{"])
        // Row 0 has two spans; row 1 has an empty {} (not counted) and a code span knowledge ignores.
        XCTAssertEqual(knowledge.spans(two, batchSize: 2, sequenceLength: 7, pieces: pieces), [[0], [4]])
        // A word span starts after the marker's spaces: the word token carries its own.
        let synonym = SpanTask(after: Array("[syn:".utf8), end: .word)
        let entry = ids(["[syn:", " abet", ",", "[syn:", " ", "abet", "}", "."])
        XCTAssertEqual(synonym.spans(entry, batchSize: 1, sequenceLength: 7, pieces: pieces), [[0], [3, 4]])
        // A literal end must be on the same line: the part of speech before " 1:", not a line further on.
        let pos = SpanTask(after: Array("\n".utf8), end: .literal(Array(" 1:".utf8)))
        let wordnet = ids(["abet", "\n", "items", " 1:", "abet", "\n", "abet", "\n", "items", " 1:"])
        XCTAssertEqual(pos.spans(wordnet, batchSize: 1, sequenceLength: 9, pieces: pieces), [[1], [7]])
        XCTAssertEqual(code.spans(ids(["self", ".", " ", "items", "("]), batchSize: 1, sequenceLength: 4, pieces: pieces), [],
                       "an identifier span does not skip spaces")
    }

    func testAModelThatKnowsTheAnswersScoresHigherThanOneThatDoesNot() throws {
        let task = SpanTask(after: Array("Answer:".utf8), end: .newline)
        let row = ids(["Answer", ":", " 4", "2", "\n", "self", "Answer", ":", " 4", "\n", "self"])
        let batch = row + row
        let knowing = ScriptedModel(batchSize: 2, sequenceLength: 10) { _, _ in true }
        // Knows only the first token of each answer: a two-token answer is then wrong.
        let guessing = ScriptedModel(batchSize: 2, sequenceLength: 10) { _, t in t == 1 || t == 7 }
        let blind = ScriptedModel(batchSize: 2, sequenceLength: 10) { _, _ in false }
        let scores = try [knowing, guessing, blind].map {
            try XCTUnwrap(EvaluateStage.heldOut($0, batches: [batch], domain: 0, task: task, pieces: pieces).task)
        }
        XCTAssertEqual(scores.map(\.total), [4, 4, 4])
        XCTAssertEqual(scores.map(\.correct), [4, 2, 0])
        XCTAssertEqual(scores[1].accuracy, 0.5)
        XCTAssertEqual(scores.map(\.tokens), [6, 6, 6])  // two 2-token and two 1-token answers
        XCTAssertEqual(scores.map(\.tokensCorrect), [6, 4, 0])
        XCTAssertEqual(scores[0].json["accuracy"]?.doubleValue, 1)
    }

    func testTop1IsTheArgmaxOfTheModelAndOfTheEnsembleMixture() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let experts = try [1, 2].map { seed -> SingleModel in
            let model = try ModelLoader.inference(try StageFixtures.seedModel(store, seed: seed), input: "model", store: store,
                                                  batchSize: 2, sequenceLength: 16, threads: 1)
            return try XCTUnwrap(model as? SingleModel)
        }
        let batch = (0..<34).map { Int32($0 * 5 % 64) }
        let V = experts[0].config.vocabSize
        var probs = [Float](repeating: 0, count: 32), top1 = [Bool](repeating: false, count: 32)
        try experts[0].targetProbabilities(batch, domain: 0, into: &probs, top1: &top1)
        let logits = Array(experts[0].model.logits)
        for i in 0..<32 {
            let row = logits[(i * V)..<((i + 1) * V)]
            let target = Int(batch[(i / 16) * 17 + i % 16 + 1])
            XCTAssertEqual(top1[i], row.max() == row[i * V + target], "position \(i)")
        }
        // The ensemble: top-1 of Σ w·p over every token, with the weights the ensemble used.
        let ensemble = EnsembleModel(experts: experts, topK: 2)
        try ensemble.targetProbabilities(batch, domain: 0, into: &probs, top1: &top1)
        let p = experts.map { Array($0.model.logits) }
        var scores = [0.0, 0.0], weights = [0.0, 0.0]
        for i in 0..<32 {
            if i % 16 == 0 { scores = [0, 0] }
            EnsembleModel.weights(scores, topK: 2, into: &weights)
            let mixed = (0..<V).map { v in weights[0] * Double(p[0][i * V + v]) + weights[1] * Double(p[1][i * V + v]) }
            let target = Int(batch[(i / 16) * 17 + i % 16 + 1])
            XCTAssertEqual(top1[i], mixed.max()! <= mixed[target], "ensemble position \(i)")
            for e in 0..<2 { scores[e] += log(max(Double(p[e][i * V + target]), 1e-30)) }
        }
    }

    func testDevSplitIsDisjointFromTheTestSplitAndStartsAtADocument() throws {
        // Documents of 7 tokens (EOS = 0 last): 1…6, 0.
        let validation: [UInt32] = (0..<400).map { (i: Int) -> UInt32 in i % 7 == 6 ? 0 : UInt32(1 + i % 7) }
        let test = try HeldOutSplit.test.range(of: validation, endOfDocument: 0, batchSize: 2, sequenceLength: 8, maxBatches: 3, domain: "d")
        let dev = try HeldOutSplit.dev.range(of: validation, endOfDocument: 0, batchSize: 2, sequenceLength: 8, maxBatches: 3, domain: "d")
        XCTAssertEqual(test, 0..<49)  // 3 batches × 2 rows × 8 tokens + 1
        XCTAssertTrue(test.upperBound <= dev.lowerBound, "\(test) overlaps \(dev)")
        XCTAssertEqual(validation[dev.lowerBound - 1], 0, "dev starts after a document end")
        XCTAssertEqual(dev.lowerBound, 49, "the test's last token (index 48) ends a document")
        XCTAssertEqual(dev.upperBound, 400)
        // Test ends mid-document: dev skips the rest of it.
        let midway = try HeldOutSplit.dev.range(of: validation, endOfDocument: 0, batchSize: 2, sequenceLength: 9, maxBatches: 3, domain: "d")
        XCTAssertEqual(midway.lowerBound, 56)
        // A last document too long to skip: dev starts right after the test tokens.
        var long = validation
        for i in 50..<400 where long[i] == 0 { long[i] = 5 }
        XCTAssertEqual(try HeldOutSplit.dev.range(of: long, endOfDocument: 0, batchSize: 2, sequenceLength: 9, maxBatches: 3, domain: "d"), 55..<400)
        XCTAssertThrowsError(try HeldOutSplit.dev.range(of: Array(validation.prefix(55)), endOfDocument: 0, batchSize: 2,
                                                        sequenceLength: 8, maxBatches: 3, domain: "math")) {
            XCTAssertTrue("\($0)".contains("domain 'math': the dev split needs at least 9 validation tokens after the test split's 49, the domain has 55"), "\($0)")
        }
    }

    /// A dev (or test) evaluation of `name` at grid point `point` with average loss `loss`.
    private func evaluation(_ name: String, _ point: String, _ loss: Double, split: String = "dev") -> (manifest: Manifest, input: String) {
        (Manifest(kind: "evaluation", metadata: ["name": .string(name), "role": "dense", "average_loss": .double(loss),
                                                 "split": .string(split), "grid_point": .string(point),
                                                 "held_out": ["split": .string(split)]]), "results.\(name).\(point)")
    }

    private let points = [TuningGrid.Point(name: "1e-4", learningRate: 1e-4), TuningGrid.Point(name: "1e-3", learningRate: 1e-3),
                          TuningGrid.Point(name: "1e-2", learningRate: 1e-2)]

    func testTheWinnerIsPickedOnDevEvenWhereTestDisagrees() throws {
        // Dev prefers 1e-3 for dense and 1e-4 for BTX; the test split would prefer 1e-2 and 1e-3.
        let dev = [evaluation("dense", "1e-4", 3.3), evaluation("dense", "1e-3", 3.1), evaluation("dense", "1e-2", 3.2),
                   evaluation("btx", "1e-2", 3.4), evaluation("btx", "1e-3", 3.25), evaluation("btx", "1e-4", 3.2)]
        let test = [evaluation("dense", "1e-4", 3.3, split: "test"), evaluation("dense", "1e-3", 3.2, split: "test"),
                    evaluation("dense", "1e-2", 3.0, split: "test")]
        let grid = try TuningGrid(points: points, evaluations: dev)
        XCTAssertEqual(grid.methods.map(\.name), ["dense", "btx"])
        XCTAssertEqual(grid.methods.map(\.winner), ["1e-3", "1e-4"])
        XCTAssertEqual(grid.learningRate(grid.methods[0].winner), 1e-3)
        let diverged = try TuningGrid(points: points, evaluations: [evaluation("x", "1e-4", 3.3), evaluation("x", "1e-3", .nan),
                                                                     evaluation("x", "1e-2", 3.2)])
        XCTAssertEqual(diverged.methods[0].winner, "1e-2", "a NaN dev loss never wins")
        XCTAssertThrowsError(try TuningGrid(points: points, evaluations: test)) {
            XCTAssertTrue("\($0)".contains("was scored on the test split: tuning picks on the dev split only"), "\($0)")
        }
        XCTAssertThrowsError(try TuningGrid(points: points, evaluations: Array(dev.dropLast()))) {
            XCTAssertTrue("\($0)".contains("btx has no dev score at learning rate 1e-4"), "\($0)")
        }
        XCTAssertThrowsError(try TuningGrid(points: points, evaluations: dev + [evaluation("dense", "3e-3", 3.0)])) {
            XCTAssertTrue("\($0)".contains("grid_point '3e-3' is not in the grid"), "\($0)")
        }
        let table = TuneStage.table(grid)
        XCTAssertEqual(table[0], "| method | lr 1e-4 | lr 1e-3 | lr 1e-2 | winner |")
        XCTAssertEqual(table[2], "| dense | 3.3000 | **3.1000** | 3.2000 | 1e-3 |")
    }

    func testTuneStageWritesTheWinnersAndAReport() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let dev = [evaluation("dense", "1e-4", 3.3), evaluation("dense", "1e-3", 3.1), evaluation("dense", "1e-2", 3.2)]
        var inputs: [String: Manifest] = [:]
        for (i, e) in dev.enumerated() { inputs["results.\(i)"] = e.manifest }
        let grid: JSONValue = .array(points.map { ["name": .string($0.name), "learning_rate": .double($0.learningRate)] })
        let output = try TuneStage().run(StageFixtures.context(store, params: ["grid": grid], inputs: inputs))
        XCTAssertEqual(output.metadata["winners"], ["dense": 0.001])
        let json = try JSONValue.parse(try store.object(try XCTUnwrap(output.objects["report.json"])))
        XCTAssertEqual(json["methods"]?.arrayValue?.first?["winner"]?["name"], "1e-3")
        XCTAssertThrowsError(try TuneStage().validate(StageParams(["grid": [["name": "a", "learning_rate": 0.1]]]))) {
            XCTAssertTrue("\($0)".contains("at least two points"), "\($0)")
        }
    }
}
