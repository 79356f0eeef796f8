import BTXTensor

/// Held-out sequences that switch domain inside the sequence, as real documents do: each sequence
/// of T+1 tokens is a run of segments of 32–64 tokens (the row's last segment is cut to what is
/// left of the row), each segment from a different domain than the one before, taken in order from that domain's validation tokens (a cursor per domain that
/// wraps). A single-domain held-out set makes BTM's per-sequence choice of experts nearly an
/// oracle; this set is where token-level routing should matter. Deterministic in `seed`.
struct MixedDomainBatches {
    /// Segment lengths, in tokens.
    static let segmentLengths = 32...64

    /// B × (T+1) tokens per batch.
    let batches: [[Int32]]

    /// `count` batches of `batchSize` × (`sequenceLength` + 1) tokens from at least two domains.
    init(domains: [[UInt32]], batchSize: Int, sequenceLength: Int, count: Int, seed: UInt64) {
        precondition(domains.count >= 2 && domains.allSatisfy { !$0.isEmpty }, "mixed batches need two non-empty domains")
        var rng = SplitMix64(seed: seed)
        var cursors = [Int](repeating: 0, count: domains.count)
        var previous = -1
        let width = sequenceLength + 1
        batches = (0..<count).map { _ in
            var batch = [Int32]()
            batch.reserveCapacity(batchSize * width)
            for _ in 0..<batchSize {
                var filled = 0
                while filled < width {
                    // A domain other than the previous segment's, uniformly.
                    var d: Int
                    if previous < 0 { d = Int(rng.next() % UInt64(domains.count)) } else {
                        d = Int(rng.next() % UInt64(domains.count - 1))
                        if d >= previous { d += 1 }
                    }
                    previous = d
                    let span = Self.segmentLengths.count
                    let length = min(Self.segmentLengths.lowerBound + Int(rng.next() % UInt64(span)), width - filled)
                    for _ in 0..<length {
                        batch.append(Int32(bitPattern: domains[d][cursors[d]]))
                        cursors[d] = (cursors[d] + 1) % domains[d].count
                    }
                    filled += length
                }
            }
            return batch
        }
    }
}
