import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// `math-problems`: the generated math domain (`MathCorpus`): training documents up to `max_bytes`
/// and `held_out` problems never seen in training → a "corpus" manifest with a `held_out` object.
struct MathStage: StageKind {
    static let name = "math-problems"
    static let version = 1
    static let summary = "generated math problems with checkable answers, plus held-out problems"

    func validate(_ params: StageParams) throws {
        _ = try params.string("domain", default: "math")
        _ = try params.int("seed", default: 0, in: 0...Int.max)
        _ = try params.int("max_bytes", default: DefaultCorpora.maxBytesPerDomain, in: 1...Int.max)
        _ = try params.int("held_out", default: 200, in: 0...1_000_000)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let p = context.params
        let corpus = MathCorpus(seed: UInt64(try p.int("seed", default: 0)),
                                maxBytes: try p.int("max_bytes", default: DefaultCorpora.maxBytesPerDomain),
                                heldOutCount: try p.int("held_out", default: 200))
        let heldOut = try context.store.putObject(try MathCorpus.jsonLines(corpus.heldOut))
        context.log("\(corpus.documents.count) problems (\(corpus.documents.byteCount) bytes), \(corpus.heldOut.count) held out")
        return try CorpusManifest.make(domain: try p.string("domain", default: "math"), documents: corpus.documents,
                                       store: context.store, objects: ["held_out": heldOut],
                                       metadata: ["held_out": .int(Int64(corpus.heldOut.count))])
    }
}
