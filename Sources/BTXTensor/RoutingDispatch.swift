/// Token dispatch for a mixture-of-experts layer: the routed (token, expert) pairs are grouped per
/// expert into contiguous "slots" (gather → one GEMM per expert → weighted scatter-add), so that no
/// product is ever per token.

/// Assigns slots from `experts[N, K]`: expert e's slots are `offsets[e] ..< offsets[e] + counts[e]`,
/// filled in row order; a pair beyond `capacity` tokens of its expert is dropped (`slotOf` = −1).
/// Writes `slotOf[N, K]`, `rowOfSlot[N·K]` (the token of each slot), `counts[E]`, `offsets[E]`;
/// returns the number of dropped pairs. Sequential: its cost is O(N·K), next to GEMMs of O(N·C·I).
public func dispatchPlan(slotOf: UnsafeMutablePointer<Int32>, rowOfSlot: UnsafeMutablePointer<Int32>,
                         counts: UnsafeMutablePointer<Int>, offsets: UnsafeMutablePointer<Int>,
                         experts: UnsafePointer<Int32>, capacity: Int, _ N: Int, _ E: Int, _ K: Int) -> Int {
    for e in 0..<E { counts[e] = 0 }
    var dropped = 0
    for i in 0..<N * K {
        let e = Int(experts[i])
        if counts[e] < capacity { counts[e] += 1 } else { dropped += 1 }
    }
    var start = 0
    for e in 0..<E { offsets[e] = start; start += counts[e] }
    // Second pass: same order, same capacity test, so exactly the counted pairs get slots.
    for e in 0..<E { counts[e] = 0 }
    for i in 0..<N * K {
        let e = Int(experts[i])
        if counts[e] < capacity {
            let slot = offsets[e] + counts[e]
            counts[e] += 1
            slotOf[i] = Int32(slot)
            rowOfSlot[slot] = Int32(i / K)
        } else {
            slotOf[i] = -1
        }
    }
    return dropped
}

/// `out[s, C] = inp[rowOfSlot[s], C]` for `S` slots.
public func gatherRows(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                       rowOfSlot: UnsafePointer<Int32>, _ S: Int, _ C: Int, threads: Int = 1) {
    parallelFor(S, threads: threads, GatherRow(out: out, inp: inp, rowOfSlot: rowOfSlot, C: C))
}

/// `out[n, C] += Σ_j gates[n, j] · expertOut[slotOf[n, j], C]` (dropped slots add nothing).
public func combineForward(_ out: UnsafeMutablePointer<Float>, _ expertOut: UnsafePointer<Float>,
                           gates: UnsafePointer<Float>, slotOf: UnsafePointer<Int32>,
                           _ N: Int, _ K: Int, _ C: Int, threads: Int = 1) {
    parallelFor(N, threads: threads, CombineForwardRow(out: out, expertOut: expertOut, gates: gates, slotOf: slotOf,
                                                       K: K, C: C))
}

/// Backward of `combineForward`: `dgates[n, j] = dout[n] · expertOut[slot]` (overwritten; 0 for a
/// dropped slot), then `expertOut[slot] = gates[n, j] · dout[n]` in place (the experts' output gradient).
public func combineBackward(dgates: UnsafeMutablePointer<Float>, _ expertOut: UnsafeMutablePointer<Float>,
                            _ dout: UnsafePointer<Float>, gates: UnsafePointer<Float>, slotOf: UnsafePointer<Int32>,
                            _ N: Int, _ K: Int, _ C: Int, threads: Int = 1) {
    parallelFor(N, threads: threads, CombineBackwardRow(dgates: dgates, expertOut: expertOut, dout: dout,
                                                        gates: gates, slotOf: slotOf, K: K, C: C))
}

/// `dinp[n, C] = Σ_j dslots[slotOf[n, j], C]` (overwritten; zero for a token with no slot).
public func scatterRows(_ dinp: UnsafeMutablePointer<Float>, _ dslots: UnsafePointer<Float>,
                        slotOf: UnsafePointer<Int32>, _ N: Int, _ K: Int, _ C: Int, threads: Int = 1) {
    parallelFor(N, threads: threads, ScatterRow(dinp: dinp, dslots: dslots, slotOf: slotOf, K: K, C: C))
}

/// Slot `s` of `gatherRows`.
struct GatherRow: ParallelKernel {
    let out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rowOfSlot: UnsafePointer<Int32>, C: Int

    func callAsFunction(_ s: Int) {
        (out + s * C).update(from: inp + Int(rowOfSlot[s]) * C, count: C)
    }
}

/// Token `n` of `combineForward`.
struct CombineForwardRow: ParallelKernel {
    let out: UnsafeMutablePointer<Float>, expertOut, gates: UnsafePointer<Float>
    let slotOf: UnsafePointer<Int32>, K, C: Int

    func callAsFunction(_ n: Int) {
        let o = out + n * C
        for j in 0..<K {
            let s = Int(slotOf[n * K + j])
            if s < 0 { continue }
            let g = gates[n * K + j], y = expertOut + s * C
            for c in 0..<C { o[c] += g * y[c] }
        }
    }
}

/// Token `n` of `combineBackward`.
struct CombineBackwardRow: ParallelKernel {
    let dgates, expertOut: UnsafeMutablePointer<Float>, dout, gates: UnsafePointer<Float>
    let slotOf: UnsafePointer<Int32>, K, C: Int

    func callAsFunction(_ n: Int) {
        let d = dout + n * C
        for j in 0..<K {
            let s = Int(slotOf[n * K + j])
            if s < 0 { dgates[n * K + j] = 0; continue }
            let y = expertOut + s * C, g = gates[n * K + j]
            var dot: Float = 0
            for c in 0..<C { dot += d[c] * y[c]; y[c] = g * d[c] }
            dgates[n * K + j] = dot
        }
    }
}

/// Token `n` of `scatterRows`.
struct ScatterRow: ParallelKernel {
    let dinp: UnsafeMutablePointer<Float>, dslots: UnsafePointer<Float>, slotOf: UnsafePointer<Int32>, K, C: Int

    func callAsFunction(_ n: Int) {
        let o = dinp + n * C
        o.update(repeating: 0, count: C)
        for j in 0..<K {
            let s = Int(slotOf[n * K + j])
            if s < 0 { continue }
            let x = dslots + s * C
            for c in 0..<C { o[c] += x[c] }
        }
    }
}
