import BTXModel
import BTXTensor
import TestSupport
import XCTest

final class LlamaModelTests: XCTestCase {
    let B = 2, T = 5

    /// Analytic gradient of the whole model vs central differences of its loss, every parameter.
    func assertWholeModelGradientsMatchFiniteDifferences(_ c: LlamaConfig, headChunkRows: Int = LlamaModel.defaultHeadChunkRows,
                                                         file: StaticString = #filePath, line: UInt = #line) throws {
        let p = TinyModel.parameters(c, seed: 3, std: 0.4)  // large weights: a non-trivial, non-linear model
        let model = try LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T, threads: 2,
                                   headChunkRows: headChunkRows)
        let tokens = TinyModel.tokens(B: B, T: T, vocab: c.vocabSize, seed: 9)
        let loss = { (x: [Float]) -> Double in
            x.withUnsafeBufferPointer { p.storage.update(from: $0.baseAddress!, count: x.count) }
            return Double(try! tokens.withUnsafeBufferPointer { try model.forward(sequences: $0) })
        }
        let x = p.flat
        _ = loss(x)
        model.zeroGradients()
        model.backward()
        let analytic = model.gradients!.flat
        let err = GradientCheck.relativeError(x, analytic: analytic, eps: 3e-3, loss: loss)
        XCTAssertLessThan(err, 5e-3, file: file, line: line)
        XCTAssertGreaterThan(analytic.map(abs).max()!, 1e-3, "gradients should not vanish", file: file, line: line)
    }

    func testWholeModelGradientsMatchFiniteDifferencesWithGroupedQueryAttention() throws {
        try assertWholeModelGradientsMatchFiniteDifferences(TinyModel.config())
    }

    func testWholeModelGradientsMatchFiniteDifferencesWithTiedEmbeddings() throws {
        try assertWholeModelGradientsMatchFiniteDifferences(TinyModel.config(tied: true, layers: 1))
    }

    func testChunkedHeadGradientsMatchFiniteDifferencesWithAChunkThatDoesNotDivideTheRows() throws {
        try assertWholeModelGradientsMatchFiniteDifferences(TinyModel.config(tied: true, layers: 1), headChunkRows: 3)  // B·T = 10
        try assertWholeModelGradientsMatchFiniteDifferences(TinyModel.config(), headChunkRows: 4)
    }

    /// `forwardBackward` (head gradients while the chunk is hot) equals `forward` then `backward`
    /// (logits recomputed), at any chunk size, and its loss equals the inference model's, which
    /// keeps the whole `[B·T, V]` logits as the head did before chunking.
    func testForwardBackwardEqualsForwardThenBackwardAtEveryChunkSize() throws {
        let c = TinyModel.config(tied: true, layers: 2)
        let p = TinyModel.parameters(c, seed: 3, std: 0.4)
        let tokens = TinyModel.tokens(B: B, T: T, vocab: c.vocabSize, seed: 9)
        let whole = try LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T, training: false)
        let reference = try tokens.withUnsafeBufferPointer { try whole.forward(sequences: $0) }
        var gradients: [[Float]] = []
        for chunk in [1, 3, 10, 256] {
            for fused in [false, true] {
                let model = try LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T, headChunkRows: chunk)
                model.zeroGradients()
                let loss = try tokens.withUnsafeBufferPointer { t -> Float in
                    if fused { return try model.forwardBackward(sequences: t, lossScale: 0.5) }
                    defer { model.backward(lossScale: 0.5) }
                    return try model.forward(sequences: t)
                }
                XCTAssertEqual(loss, reference, accuracy: 1e-5, "chunk \(chunk) fused \(fused)")
                gradients.append(model.gradients!.flat)
            }
        }
        for g in gradients.dropFirst() {
            XCTAssertLessThan(zip(g, gradients[0]).map { abs($0 - $1) }.max()!, 1e-5)
        }
        XCTAssertGreaterThan(gradients[0].map(abs).max()!, 1e-3)
    }

    func testTrainingModelsKeepNoLogits() throws {
        let c = TinyModel.config()
        let model = try LlamaModel(config: c, parameters: TinyModel.parameters(c), batchSize: 1, sequenceLength: 4, headChunkRows: 2)
        XCTAssertEqual(model.headChunkRows, 2)
        XCTAssertThrowsError(try model.forward(inputs: [1, 2, 3, 4]))
        XCTAssertThrowsError(try model.forward(appending: [1], at: 0))
        XCTAssertThrowsError(try LlamaModel(config: c, parameters: TinyModel.parameters(c), batchSize: 1, sequenceLength: 4,
                                            headChunkRows: 0))
    }

    func testTinyModelOverfitsOneBatch() throws {
        let c = TinyModel.config(vocab: 16)
        let model = try LlamaModel(config: c, parameters: TinyModel.parameters(c), batchSize: 2, sequenceLength: 8)
        let hyper = TrainingHyperparameters(steps: 150, batchSize: 2, sequenceLength: 8, learningRate: 3e-2,
                                            warmupSteps: 5, adamW: AdamWHyperparameters(weightDecay: 0))
        let trainer = try Trainer(model: model, hyper: hyper)
        let tokens = TinyModel.tokens(B: 2, T: 8, vocab: 16, seed: 4)
        var last: StepMetrics?
        try trainer.train(batches: { _, _, out in _ = out.update(fromContentsOf: tokens) }, onStep: { last = $0 })
        XCTAssertEqual(last?.step, 149)
        XCTAssertLessThan(last?.loss ?? .infinity, 0.1)
    }

    func testCachedGenerationLogitsEqualFullRecompute() throws {
        let c = TinyModel.config()
        let p = TinyModel.parameters(c, std: 0.3)
        let seq: [Int32] = [3, 1, 4, 1, 5, 9, 2, 6]
        let full = try LlamaModel(config: c, parameters: p, batchSize: 1, sequenceLength: seq.count, training: false)
        try full.forward(inputs: seq)
        let reference = Array(full.logits)
        let cached = try TextGenerator(config: c, parameters: p, maxLength: 16).model
        try cached.forward(appending: Array(seq[0..<3]), at: 0)  // a 3-token prompt in one pass
        var got = Array(cached.logits)
        for t in 3..<seq.count {
            try cached.forward(appending: [seq[t]], at: t)
            got += cached.logits
        }
        XCTAssertEqual(got.count, reference.count)
        for i in 0..<got.count { XCTAssertEqual(got[i], reference[i], accuracy: 1e-5) }
        // A prompt's pass that keeps only its last row's logits (what sampling reads) keeps that row exactly.
        let lastOnly = try TextGenerator(config: c, parameters: p, maxLength: 16).model
        try lastOnly.forward(appending: Array(seq[0..<5]), at: 0, lastLogitsOnly: true)
        let row = Array(reference[(4 * c.vocabSize)..<(5 * c.vocabSize)])
        XCTAssertEqual(lastOnly.logits.count, row.count)
        for (a, b) in zip(lastOnly.logits, row) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testTokensOutsideTheVocabularyAreRejectedWithTheirPosition() throws {
        let c = TinyModel.config()
        let model = try LlamaModel(config: c, parameters: TinyModel.parameters(c), batchSize: 1, sequenceLength: 2)
        XCTAssertThrowsError(try [Int32(1), 13, 0].withUnsafeBufferPointer { try model.forward(sequences: $0) }) {
            XCTAssertEqual($0 as? ModelError, .tokenOutOfRange(token: 13, vocabularySize: 13, position: 1))
        }
        XCTAssertThrowsError(try [Int32(1), 2].withUnsafeBufferPointer { try model.forward(sequences: $0) })
    }

    func testMissingOrMisshapenParametersAreRejected() {
        let c = TinyModel.config()
        var layout = LlamaParameters.layout(c)
        layout.removeAll { $0.name == "model.layers.1.mlp.up_proj.weight" }
        XCTAssertThrowsError(try LlamaModel(config: c, parameters: ParameterSet(layout: layout), batchSize: 1, sequenceLength: 2)) {
            XCTAssertEqual($0 as? ModelError, .missingParameter("model.layers.1.mlp.up_proj.weight"))
        }
        let wrong = ParameterSet(layout: LlamaParameters.layout(TinyModel.config(vocab: 14)))
        XCTAssertThrowsError(try LlamaModel(config: c, parameters: wrong, batchSize: 1, sequenceLength: 2)) {
            XCTAssertEqual($0 as? ModelError, .shapeMismatch(name: "model.embed_tokens.weight", expected: [13, 12], actual: [14, 12]))
        }
    }
}
