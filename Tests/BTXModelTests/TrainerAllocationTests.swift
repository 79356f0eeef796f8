import BTXModel
import BTXTensor
import TestSupport
import XCTest

/// The training step allocates nothing after its first step (issue 3), proven with glibc's malloc
/// tracer in a child process (see `AllocationTrace`).
final class TrainerAllocationTests: XCTestCase {
    func testTrainingStepsAfterTheFirstAllocateNothing() throws {
        guard let allocations = try AllocationTrace.allocations(inTest: "BTXModelTests.TrainerAllocationTests/testTracedTrainingSteps") else {
            throw XCTSkip("glibc's malloc tracer (\(AllocationTrace.debugLibrary)) is not available")
        }
        XCTAssertEqual(allocations.count, 0, "allocations in steps 2–3:\n" + allocations.prefix(20).joined(separator: "\n"))
    }

    func testTheTracerSeesAnAllocation() throws {
        guard let allocations = try AllocationTrace.allocations(inTest: "BTXModelTests.TrainerAllocationTests/testTracedAllocation") else {
            throw XCTSkip("glibc's malloc tracer (\(AllocationTrace.debugLibrary)) is not available")
        }
        XCTAssertGreaterThanOrEqual(allocations.count, 1)
    }

    /// Run by the tests above in a child process (and on its own as a small training run): one
    /// warm-up step, then two traced steps. Big enough that every kernel splits its work over
    /// both threads (≥ 64 rows per product, two attention blocks per head), with grouped-query
    /// attention, gradient accumulation and clipping on.
    func testTracedTrainingSteps() throws {
        let c = try LlamaConfig(hiddenSize: 64, intermediateSize: 88, numHiddenLayers: 2, numAttentionHeads: 4,
                                numKeyValueHeads: 2, vocabSize: 100, maxPositionEmbeddings: 72)
        let B = 2, T = 72
        let p = ParameterSet(layout: LlamaParameters.layout(c))
        LlamaParameters.initialize(p, seed: 3)
        try traceSteps(try LlamaModel(config: c, parameters: p, batchSize: B, sequenceLength: T, threads: 2), B: B, T: T)
    }

    /// The MoE step allocates nothing either: its routing, gather, combine and scatter kernels run
    /// in the same pool as the dense ones (issue 18).
    func testMoETrainingStepsAfterTheFirstAllocateNothing() throws {
        try assertTracedTestAllocatesNothing("testTracedMoETrainingSteps")
    }

    /// With activation recomputation (blocks replaying their forward pass in backward) the MoE
    /// step allocates nothing either.
    func testRecomputingMoETrainingStepsAllocateNothing() throws {
        try assertTracedTestAllocatesNothing("testTracedRecomputingMoETrainingSteps")
    }

    /// Run by `testMoETrainingStepsAfterTheFirstAllocateNothing`: the traced steps of
    /// `testTracedTrainingSteps` on a 4-expert top-2 model with the load-balancing loss.
    func testTracedMoETrainingSteps() throws {
        try traceMoESteps(recomputeActivations: false)
    }

    /// Run by `testRecomputingMoETrainingStepsAllocateNothing`.
    func testTracedRecomputingMoETrainingSteps() throws {
        try traceMoESteps(recomputeActivations: true)
    }

    /// Runs this class's test `name` in a child process under the malloc tracer: no allocation.
    func assertTracedTestAllocatesNothing(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let allocations = try AllocationTrace.allocations(inTest: "BTXModelTests.TrainerAllocationTests/\(name)") else {
            throw XCTSkip("glibc's malloc tracer (\(AllocationTrace.debugLibrary)) is not available")
        }
        XCTAssertEqual(allocations.count, 0, "allocations in steps 2–3:\n" + allocations.prefix(20).joined(separator: "\n"),
                       file: file, line: line)
    }

    /// The traced steps of a 4-expert top-2 GQA model.
    func traceMoESteps(recomputeActivations: Bool) throws {
        let c = try LlamaConfig(hiddenSize: 64, intermediateSize: 88, numHiddenLayers: 2, numAttentionHeads: 4,
                                numKeyValueHeads: 2, vocabSize: 100, maxPositionEmbeddings: 72)
        let B = 2, T = 72, moe = try MoEConfig(numLocalExperts: 4)
        let p = ParameterSet(layout: MoEParameters.layout(c, moe))
        LlamaParameters.initialize(p, seed: 3)
        let runtime = MoERuntime(moe: moe, layers: c.numHiddenLayers, hiddenSize: c.hiddenSize, rows: B * T, training: true)
        try traceSteps(try MoEParameters.model(c, runtime: runtime, parameters: p, batchSize: B, sequenceLength: T, threads: 2,
                                               recomputeActivations: recomputeActivations), B: B, T: T)
    }

    /// One warm-up step of `model`, then two traced steps.
    func traceSteps(_ model: LlamaModel, B: Int, T: Int) throws {
        let trainer = try Trainer(model: model, hyper: TrainingHyperparameters(
            steps: 3, batchSize: B, sequenceLength: T, gradientAccumulation: 2, learningRate: 1e-3, warmupSteps: 1,
            gradientClip: 1e-3, seed: 1))
        var rng = SplitMix64(seed: 5)
        let data = (0..<B * (T + 1)).map { _ in Int32(rng.next() % 100) }
        let batches: BatchSource = { _, _, out in data.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: $0.count) } }
        let first = try trainer.trainStep(batches: batches).loss
        var second = Double.nan, third = Double.nan
        try AllocationTrace.record {
            second = try trainer.trainStep(batches: batches).loss
            third = try trainer.trainStep(batches: batches).loss
        }
        XCTAssertTrue(first.isFinite && second.isFinite && third.isFinite)
    }

    /// Run by `testTheTracerSeesAnAllocation`: one allocation the tracer must see.
    func testTracedAllocation() {
        let n = AllocationTrace.record { [Int](repeating: 1, count: 1000 + Int.random(in: 0..<2)).count }
        XCTAssertGreaterThan(n, 0)
    }
}
