@testable import BTXPipeline
import BTXStore
import Foundation
import TestSupport
import XCTest

/// Stage kinds whose outputs hold real objects, so that damage to them can be staged.
private enum Blob {
    /// Stores `value` (repeated) as an object named "blob".
    struct Make: StageKind {
        static let name = "blob"
        static let version = 1
        func validate(_ params: StageParams) throws { _ = try params.string("value") }
        func run(_ context: StageContext) throws -> Manifest {
            let text = String(repeating: try context.params.string("value"), count: 2000)
            return Manifest(kind: "blob", objects: ["blob": try context.store.putObject(Data(text.utf8))])
        }
    }

    /// Reads its `source` input's blob (verified) and outputs its length.
    struct Read: StageKind {
        static let name = "read"
        static let version = 1
        func validate(_ params: StageParams) throws { _ = try params.string("tag", default: "") }
        func run(_ context: StageContext) throws -> Manifest {
            guard let blob = try context.input("source").objects["blob"] else { throw StageError.failed("no blob") }
            let bytes = try context.store.object(blob)
            return Manifest(kind: "toy", metadata: ["value": .string("\(bytes.count)")])
        }
    }

    /// Reads "outside its inputs" but cannot fingerprint what it reads.
    struct Unprovable: StageKind {
        static let name = "unprovable"
        static let version = 1
        func validate(_ params: StageParams) throws {}
        static func sourceFingerprint(_ params: StageParams, store: Store) throws -> JSONValue? {
            throw StageError.failed("cannot fingerprint")
        }
        func run(_ context: StageContext) throws -> Manifest { Manifest(kind: "toy") }
    }

    static let registry = StageRegistry([Make.self, Read.self, Unprovable.self])
}

/// A consumer that meets a missing or damaged object of its input invalidates the producer's entry,
/// and the same run recomputes the producer and then the consumer (issue 15, item 1).
final class RunnerHealingTests: XCTestCase {
    private func run(_ tag: String, store: Store, observer: RecordingObserver = RecordingObserver()) throws -> [String: StageOutcome] {
        let text = """
        name: heal
        stages:
          make: {kind: blob, params: {value: "abc"}}
          use: {kind: read, inputs: {source: make}, params: {tag: "\(tag)"}}
        """
        let spec = try PipelineSpec.parse(text, file: "heal.yaml", registry: Blob.registry)
        let runner = try Runner(spec: spec, registry: Blob.registry, store: store, options: RunOptions(), observer: observer)
        return Dictionary(uniqueKeysWithValues: try runner.run().map { ($0.stage, $0.outcome) })
    }

    private func blobPath(_ store: Store, _ outcomes: [String: StageOutcome]) throws -> String {
        let manifest = try store.manifest(outcomes["make"]!.output!)
        let hash = manifest.objects["blob"]!
        return store.root.path + "/objects/v1/\(hash.hex.prefix(2))/\(hash.hex)"
    }

    func testADamagedInputObjectIsRecomputedInTheSameRunAndTheConsumerSucceeds() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url, report: { _ in })
        let first = try run("1", store: store)
        XCTAssertNotNil(first["use"]?.output)
        let path = try blobPath(store, first)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))

        let observer = RecordingObserver()
        let second = try run("2", store: store, observer: observer)   // a new consumer key: it runs and meets the damage
        guard case .ran = second["make"]! else { return XCTFail("the producer must be recomputed: \(second)") }
        guard case .ran = second["use"]! else { return XCTFail("the consumer must succeed on its retry: \(second)") }
        XCTAssert(observer.events.contains { $0.contains("recomputing it, then retrying") }, "\(observer.events)")
        XCTAssertEqual(store.verify().problems.count, 0)
        guard case .cached = try run("2", store: store)["use"]! else { return XCTFail("the healed run is cached") }
    }

    /// The store remembers what a manifest references once its closure was checked (`ClosureFacts`), so
    /// damage to the manifest itself, in place, after that check is found by the next reader instead:
    /// the consumer's read quarantines it, the entry has a gap, and the same run heals as above.
    func testAManifestDamagedInPlaceAfterItsClosureWasCheckedIsHealedByItsNextReader() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url, report: { _ in })
        let first = try run("1", store: store)
        let manifest = first["make"]!.output!
        XCTAssertEqual(try run("1", store: store)["make"], .cached(output: manifest), "a rerun checks the closure again, as remembered")
        let path = store.root.path + "/objects/v1/\(manifest.hex.prefix(2))/\(manifest.hex)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))

        let observer = RecordingObserver()
        let second = try run("2", store: store, observer: observer)
        guard case .ran = second["make"]! else { return XCTFail("the producer must be recomputed: \(second)") }
        guard case .ran = second["use"]! else { return XCTFail("the consumer must succeed on its retry: \(second)") }
        XCTAssertEqual(store.verify().problems.count, 0)
    }

    func testAMissingInputObjectMakesTheEntryAMissSoTheNextRunRecomputesIt() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url, report: { _ in })
        let first = try run("1", store: store)
        unlink(try blobPath(store, first))
        let second = try run("1", store: store)
        guard case .ran = second["make"]! else { return XCTFail("a dangling entry must not count as cached: \(second)") }
    }

    func testAStageWhoseSourcesCannotBeFingerprintedIsNeverCached() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url, report: { _ in })
        let spec = try PipelineSpec.parse("name: u\nstages:\n  s: {kind: unprovable}\n", file: "u.yaml", registry: Blob.registry)
        for _ in 0..<2 {
            let runner = try Runner(spec: spec, registry: Blob.registry, store: store, options: RunOptions(), observer: RecordingObserver())
            guard case .ran = try runner.run()[0].outcome else { return XCTFail("an unprovable stage must run every time") }
        }
    }
}
