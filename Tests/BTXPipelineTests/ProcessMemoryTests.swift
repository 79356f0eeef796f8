@testable import BTXPipeline
import BTXStore
import BTXTensor
import Foundation
import TestSupport
import XCTest

/// `ProcessMemory`: freed heap pages go back to the kernel, and the runner does it after each stage.
final class ProcessMemoryTests: XCTestCase {
    /// Allocates `count` small (heap, not mmap) blocks, writes them, and frees all but the last,
    /// which sits at the heap's top and so keeps glibc from trimming the freed pages on its own.
    /// Returns that last block.
    fileprivate static func churnHeap(blocks count: Int = 3_000, bytes: Int = 64 << 10) -> UnsafeMutableRawPointer {
        let blocks = (0..<count).map { _ in malloc(bytes)! }
        for block in blocks { memset(block, 1, bytes) }
        for block in blocks.dropLast() { free(block) }
        return blocks.last!
    }

    private func residentMiB() throws -> Double {
        let mebibytes = ProcessStatus.mebibytes("VmRSS:")
        XCTAssertGreaterThan(mebibytes, 0, "no VmRSS in /proc/self/status")
        return mebibytes
    }

    func testReleaseFreedPagesHandsTheHeapsFreePagesBack() throws {
        ProcessMemory.releaseFreedPages()
        let baseline = try residentMiB()
        let pin = Self.churnHeap()
        defer { free(pin) }
        let before = try residentMiB()
        XCTAssertGreaterThan(before, baseline + 150, "freed heap pages stay resident until trimmed (else this test proves nothing)")
        ProcessMemory.releaseFreedPages()
        let after = try residentMiB()
        // 187.5 MiB were freed but stayed resident; trimming returns (nearly) all of them.
        XCTAssertLessThan(after, before - 150, "resident \(before) MiB before trimming, \(after) MiB after")
    }

    func testTheRunnerTrimsAfterAStageThatChurnedTheHeap() throws {
        let dir = try TemporaryDirectory()
        let store = try Store(root: dir.url)
        let spec = try PipelineSpec.parse("name: m\nstages:\n  churn: {kind: churn}\n", file: "m.yaml", registry: Self.registry)
        ProcessMemory.releaseFreedPages()
        let baseline = try residentMiB()
        var options = RunOptions()
        options.jobs = 1
        let results = try Runner(spec: spec, registry: Self.registry, store: store, options: options,
                                 observer: RecordingObserver()).run()
        XCTAssertEqual(results.map(\.stage), ["churn"])
        XCTAssertNotNil(results.first?.outcome.output)
        let after = try residentMiB()
        // Untrimmed, the stage's 187.5 MiB would still be resident here.
        XCTAssertLessThan(after, baseline + 60, "resident \(baseline) MiB before the run, \(after) MiB after")
    }

    private static let registry = StageRegistry([Churn.self])

    /// Frees ~190 MiB of small blocks, keeping a pin (so that only a trim can return them).
    struct Churn: StageKind {
        static let name = "churn"
        static let version = 1
        nonisolated(unsafe) static var pins: [UnsafeMutableRawPointer] = []
        func validate(_ params: StageParams) throws {}
        func run(_ context: StageContext) throws -> Manifest {
            Self.pins.append(ProcessMemoryTests.churnHeap())
            return Manifest(kind: "toy", metadata: [:])
        }
    }
}
