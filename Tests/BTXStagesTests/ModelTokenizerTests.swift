import BTXData
@testable import BTXPipeline
@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// One tokenizer from seed to export: models carry their tokenizer object, token manifests record
/// its hash, `tokenize` accepts a model as its tokenizer, and a model is refused data of another.
final class ModelTokenizerTests: XCTestCase {
    /// A "tokenizer" manifest of btxpipe's BPE trained on `text` with `vocab` ids.
    static func tokenizer(_ store: Store, text: String, vocab: Int = 300) throws -> Manifest {
        var trainer = BPETrainer()
        trainer.add(Data(text.utf8))
        let bpe = try trainer.train(vocabSize: vocab)
        return Manifest(kind: "tokenizer", objects: ["tokenizer.json": try store.putObject(bpe.huggingFaceJSON())],
                        metadata: ["vocab_size": .int(Int64(bpe.vocabSize))])
    }

    static func corpus(_ store: Store) throws -> Manifest {
        var documents = DocumentCollection()
        for i in 0..<40 { documents.append(Data("the cat \(i) sat on the mat; naïve café 東京 \(i * 7)\n".utf8)) }
        return try CorpusManifest.make(domain: "prose", documents: documents, store: store)
    }

    func testInitAndTrainCarryTheTokenizerAndTokenizeRecordsItsHash() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let tokenizer = try Self.tokenizer(store, text: "the cat sat on the mat")
        let hash = tokenizer.objects["tokenizer.json"]!
        let model = try InitStage().run(StageFixtures.context(store, params: ["config": StageFixtures.config], inputs: ["tokenizer": tokenizer]))
        XCTAssertEqual(model.objects["tokenizer.json"], hash)
        // A model is a tokenizer input too: same tokens, same recorded hash.
        let viaTokenizer = try TokenizeStage().run(StageFixtures.context(store, params: ["min_validation_tokens": 50],
                                                                         inputs: ["corpus": try Self.corpus(store), "tokenizer": tokenizer]))
        let viaModel = try TokenizeStage().run(StageFixtures.context(store, params: ["min_validation_tokens": 50],
                                                                     inputs: ["corpus": try Self.corpus(store), "tokenizer": model]))
        XCTAssertEqual(viaModel, viaTokenizer)
        XCTAssertEqual(viaModel.metadata["tokenizer"]?.stringValue, hash.hex)
        let trained = try TrainStage().run(StageFixtures.context(store, params: StageFixtures.trainParams(steps: 2, checkpointEvery: 0),
                                                                 inputs: ["model": model, "data": viaModel]))
        XCTAssertEqual(trained.objects["tokenizer.json"], hash)
    }

    func testTrainRefusesDataOfAnotherTokenizerInOneLineNamingBoth() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let a = try Self.tokenizer(store, text: "the cat sat on the mat"), b = try Self.tokenizer(store, text: "a dog ran in the fog")
        let model = try InitStage().run(StageFixtures.context(store, params: ["config": StageFixtures.config], inputs: ["tokenizer": a]))
        let data = try TokenizeStage().run(StageFixtures.context(store, params: ["min_validation_tokens": 50],
                                                                 inputs: ["corpus": try Self.corpus(store), "tokenizer": b]))
        let context = StageFixtures.context(store, params: StageFixtures.trainParams(steps: 2), inputs: ["model": model, "data": data])
        XCTAssertThrowsError(try TrainStage().run(context)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("input 'model' uses tokenizer \(a.objects["tokenizer.json"]!.short)"), text)
            XCTAssertTrue(text.contains("input 'data' uses tokenizer \(b.objects["tokenizer.json"]!.short)"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        let evaluate = StageFixtures.context(store, params: ["name": "x", "math_problems": 0], inputs: ["model": model, "data": data])
        XCTAssertThrowsError(try EvaluateStage().run(evaluate)) { XCTAssertTrue("\($0)".contains("uses tokenizer"), "\($0)") }
    }

    func testMixRefusesExpertsOfTwoTokenizersAndEveryModelEncodesPromptText() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let a = try Self.tokenizer(store, text: "the cat sat on the mat"), b = try Self.tokenizer(store, text: "a dog ran in the fog")
        func model(_ t: Manifest) throws -> Manifest {
            try InitStage().run(StageFixtures.context(store, params: ["config": StageFixtures.config], inputs: ["tokenizer": t]))
        }
        let (m1, m2) = (try model(a), try model(b))
        XCTAssertThrowsError(try MixStage().run(StageFixtures.context(store, params: [:], inputs: ["experts.0": m1, "experts.1": m2]))) {
            XCTAssertTrue("\($0)".contains("input 'experts.0' uses tokenizer \(a.objects["tokenizer.json"]!.short) but input 'experts.1' uses tokenizer"), "\($0)")
        }
        let mixed = try MixStage().run(StageFixtures.context(store, params: [:], inputs: ["experts.0": m1, "experts.1": try model(a)]))
        XCTAssertEqual(mixed.objects["tokenizer.json"], a.objects["tokenizer.json"])
        let session = try GenerationSession(mixed, store: store, threads: 1)
        XCTAssertEqual(try session.encode("the cat").map { UInt32($0) }, try HFTokenizerFile.tokenizer(m1, store: store)!.makeEncoder().encode("the cat"))
    }

    func testTokenizeRefusesAnInputWithoutATokenizer() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let bare = try StageFixtures.seedModel(store)
        XCTAssertThrowsError(try TokenizeStage().run(StageFixtures.context(store, params: [:],
                                                                           inputs: ["corpus": try Self.corpus(store), "tokenizer": bare]))) {
            XCTAssertTrue("\($0)".contains("input 'tokenizer' (a 'model' manifest) has no tokenizer.json"), "\($0)")
        }
    }

    /// A btxpipe model exported to HF: `AutoTokenizer` loads the directory and encodes like btxpipe.
    func testAnExportShipsTokenizerFilesThatAutoTokenizerLoadsAndEncodesAlike() throws {
        let python = try ReferencePython.python(importing: ["transformers", "tokenizers"])
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let tokenizer = try Self.tokenizer(store, text: String(repeating: "the cat sat on the mat; naïve café 東京 12345\n", count: 20), vocab: 300)
        var config = StageFixtures.config.objectValue!
        config["vocab_size"] = 300
        let model = try InitStage().run(StageFixtures.context(store, params: ["config": .object(config)], inputs: ["tokenizer": tokenizer]))
        let out = dir.url.appendingPathComponent("export")
        let files = try HFExporter().export(model, from: store, to: out)
        XCTAssertTrue(files.contains("tokenizer.json") && files.contains("tokenizer_config.json"), "\(files)")
        let texts = ["the cat sat", "naïve café 東京 🙂 x² — ok", "12345  \n\n  spaced<|eos|>after"]
        try JSONEncoder().encode(texts).write(to: dir.url.appendingPathComponent("texts.json"))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tokenizers/make_tokenizers.py")
        let result = try runProcess(python, [script.path, "autotokenizer", out.path, dir.path("texts.json")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let reply = try JSONValue.parse(Data(result.stdout.utf8))
        let ours = try HFTokenizerFile.tokenizer(model, store: store)!
        let encoder = ours.makeEncoder()
        XCTAssertEqual(reply["ids"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.intValue) ?? [] },
                       texts.map { encoder.encode($0).map { Int($0) } })
        XCTAssertEqual(reply["eos"]?.stringValue, BPETokenizer.eosText)
        XCTAssertEqual(reply["bos"]?.stringValue, BPETokenizer.bosText)
    }
}
