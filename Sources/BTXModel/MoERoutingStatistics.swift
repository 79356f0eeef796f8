import BTXTensor

/// Routing counts of a mixture-of-experts model: per layer, per domain, how many (token, expert)
/// assignments each expert received, plus the assignments a Switch capacity dropped. Layers add to
/// it during every forward pass it is attached to; `reset` starts a new count.
///
/// Domains: the caller labels each row of the next batch (`rowDomains`, e.g. the domain each
/// sequence came from, repeated over its T tokens); unlabeled use counts everything as domain 0.
/// With `rowsPerSequence` set, it also counts per sequence of the batch (row n belongs to sequence
/// n / rowsPerSequence), over all layers, until `takeSequenceShares()`: take them after every batch
/// (two batches without a take add up sequence by sequence). The report bootstraps routing over
/// sequences from these.
public final class MoERoutingStatistics {
    /// L, E and the number of domain labels.
    public let layers: Int, experts: Int, domains: Int
    /// Rows per sequence of the per-sequence count (0: not counted).
    public let rowsPerSequence: Int
    /// `[maxRows]` domain label of each row of the next forward pass (0..<domains).
    public let rowDomains: Buffer<Int32>
    var counts: [Int]  // [L, D, E]
    var droppedCounts: [Int]  // [L]
    var sequenceCounts: [Int]  // [maxRows / rowsPerSequence, E], summed over layers

    /// Counts for `layers` × `domains` × `experts`, for batches of up to `maxRows` rows, and per
    /// sequence of `rowsPerSequence` rows when that is positive.
    public init(layers: Int, experts: Int, domains: Int = 1, maxRows: Int, rowsPerSequence: Int = 0) {
        precondition(layers > 0 && experts > 0 && domains > 0 && rowsPerSequence >= 0, "statistics need positive sizes (rowsPerSequence ≥ 0)")
        self.layers = layers
        self.experts = experts
        self.domains = domains
        self.rowsPerSequence = rowsPerSequence
        rowDomains = Buffer(count: maxRows)
        counts = [Int](repeating: 0, count: layers * domains * experts)
        droppedCounts = [Int](repeating: 0, count: layers)
        let sequences = rowsPerSequence > 0 ? (maxRows + rowsPerSequence - 1) / rowsPerSequence : 0
        sequenceCounts = [Int](repeating: 0, count: sequences * experts)
    }

    /// Per sequence of the batch scored since the last call, the share of its (token, expert)
    /// assignments, over every layer, that went to each expert (`[sequence][expert]`, rows summing
    /// to 1); then starts a new count. Empty when per-sequence counting is off.
    public func takeSequenceShares() -> [[Double]] {
        let shares = stride(from: 0, to: sequenceCounts.count, by: experts).map { start -> [Double] in
            let row = sequenceCounts[start..<start + experts].map(Double.init)
            let total = row.reduce(0, +)
            return total > 0 ? row.map { $0 / total } : row
        }
        for i in sequenceCounts.indices { sequenceCounts[i] = 0 }
        return shares
    }

    /// Sets every count to zero.
    public func reset() {
        for i in counts.indices { counts[i] = 0 }
        for i in sequenceCounts.indices { sequenceCounts[i] = 0 }
        for i in droppedCounts.indices { droppedCounts[i] = 0 }
    }

    /// Assignments to expert `e` in layer `l` from rows labelled `domain` (all domains when nil).
    public func tokens(layer l: Int, expert e: Int, domain: Int? = nil) -> Int {
        if let domain { return counts[(l * domains + domain) * experts + e] }
        return (0..<domains).reduce(0) { $0 + counts[(l * domains + $1) * experts + e] }
    }

    /// Assignments that a Switch capacity dropped in layer `l`.
    public func dropped(layer l: Int) -> Int { droppedCounts[l] }

    /// Per layer, the share of each domain's assignments that went to each expert:
    /// `[layer][domain][expert]`, each inner row summing to 1 (or all 0 for an unseen domain).
    public func loadFractions() -> [[[Double]]] {
        (0..<layers).map { l in
            (0..<domains).map { d in
                let row = (0..<experts).map { Double(tokens(layer: l, expert: $0, domain: d)) }
                let total = row.reduce(0, +)
                return total > 0 ? row.map { $0 / total } : row
            }
        }
    }

    /// Adds one layer's decisions: `experts[N, K]` and the `dropped` assignments.
    func record(layer l: Int, experts chosen: UnsafePointer<Int32>, dropped: Int, _ N: Int, _ K: Int) {
        precondition(N <= rowDomains.count, "statistics sized for \(rowDomains.count) rows, got \(N)")
        for n in 0..<N {
            let d = min(max(Int(rowDomains.pointer[n]), 0), domains - 1)
            let base = (l * domains + d) * experts
            for j in 0..<K { counts[base + Int(chosen[n * K + j])] += 1 }
            if rowsPerSequence > 0 {
                let sequence = (n / rowsPerSequence) * experts
                for j in 0..<K { sequenceCounts[sequence + Int(chosen[n * K + j])] += 1 }
            }
        }
        droppedCounts[l] += dropped
    }
}
