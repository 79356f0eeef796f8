/// Errors of building batches.
public enum BatchError: Error, CustomStringConvertible {
    case tooFewTokens(domain: Int, tokens: Int, needed: Int)
    case badWeights(String)
    case badShape(String)

    public var description: String {
        switch self {
        case let .tooFewTokens(d, t, n): return "domain \(d) has \(t) tokens; a sequence needs \(n)"
        case let .badWeights(why): return "mixture weights: \(why)"
        case let .badShape(why): return "batch shape: \(why)"
        }
    }
}

/// Training batches as a pure function of (domains, mixture weights, seed, step): row r of step s
/// draws its domain by weight from hash(seed, s, r) and a uniform window offset from a second
/// hash, so any step can be recomputed alone (resume needs no replay).
///
/// A batch is B rows of T+1 tokens as Int32: inputs are [:, :T], targets [:, 1:].
public struct BatchSampler: Sendable {
    /// Token arrays, one per domain.
    public let domains: [[UInt32]]
    /// Cumulative normalised weights (last = 1).
    private let cumulative: [Double]
    public let seed: UInt64
    /// B and T.
    public let batchSize: Int, sequenceLength: Int

    /// Checks the weights (finite, ≥ 0, positive sum, one per domain) and that every domain with
    /// weight > 0 has at least T+1 tokens.
    public init(domains: [[UInt32]], weights: [Double], seed: UInt64, batchSize: Int, sequenceLength: Int) throws {
        guard batchSize > 0, sequenceLength > 0 else { throw BatchError.badShape("B=\(batchSize), T=\(sequenceLength) must be positive") }
        guard weights.count == domains.count, !domains.isEmpty else {
            throw BatchError.badWeights("\(weights.count) weights for \(domains.count) domains")
        }
        guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }), weights.reduce(0, +) > 0 else {
            throw BatchError.badWeights("expected finite non-negative numbers with a positive sum, got \(weights)")
        }
        for (d, tokens) in domains.enumerated() where weights[d] > 0 && tokens.count < sequenceLength + 1 {
            throw BatchError.tooFewTokens(domain: d, tokens: tokens.count, needed: sequenceLength + 1)
        }
        let sum = weights.reduce(0, +)
        var running = 0.0
        cumulative = weights.map { running += $0 / sum; return running }
        self.domains = domains
        self.seed = seed
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
    }

    /// The domain and start offset of row `row` of step `step`.
    public func window(step: Int, row: Int) -> (domain: Int, offset: Int) {
        let u = CounterHash.unit(CounterHash.hash(seed, UInt64(step), UInt64(row)))
        var domain = cumulative.firstIndex { u < $0 } ?? cumulative.count - 1
        while cumulative[domain] == (domain == 0 ? 0 : cumulative[domain - 1]) { domain -= 1 }  // skip zero weights
        let span = UInt64(domains[domain].count - sequenceLength)
        let offset = Int(CounterHash.hash(seed ^ 0x5EED_0FF5_E7, UInt64(step), UInt64(row)) % span)
        return (domain, offset)
    }

    /// Step `step`'s batch, B × (T+1) Int32 tokens, row-major.
    public func batch(step: Int) -> [Int32] {
        var out = [Int32](repeating: 0, count: batchSize * (sequenceLength + 1))
        out.withUnsafeMutableBufferPointer { fill(step: step, into: $0) }
        return out
    }

    /// Writes step `step`'s batch into `out` (B × (T+1) elements), allocating nothing.
    public func fill(step: Int, into out: UnsafeMutableBufferPointer<Int32>) {
        precondition(out.count == batchSize * (sequenceLength + 1), "batch buffer has the wrong size")
        let width = sequenceLength + 1
        for row in 0..<batchSize {
            let (d, offset) = window(step: step, row: row)
            domains[d].withUnsafeBufferPointer { tokens in
                for t in 0..<width { out[row * width + t] = Int32(bitPattern: tokens[offset + t]) }
            }
        }
    }
}

/// Validation batches: a fixed sequence of windows, window k = tokens[k·T ..< k·T + T + 1],
/// B windows per batch (the last batch wraps around to the first windows).
public struct ValidationBatches: Sendable {
    public let tokens: [UInt32]
    public let batchSize: Int, sequenceLength: Int

    /// Needs at least T+1 tokens.
    public init(tokens: [UInt32], batchSize: Int, sequenceLength: Int) throws {
        guard batchSize > 0, sequenceLength > 0 else { throw BatchError.badShape("B=\(batchSize), T=\(sequenceLength) must be positive") }
        guard tokens.count >= sequenceLength + 1 else {
            throw BatchError.tooFewTokens(domain: 0, tokens: tokens.count, needed: sequenceLength + 1)
        }
        self.tokens = tokens
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
    }

    /// Number of distinct windows.
    public var windowCount: Int { (tokens.count - 1) / sequenceLength }

    /// Number of batches that cover every window once.
    public var count: Int { (windowCount + batchSize - 1) / batchSize }

    /// Batch `index` (0..<count), B × (T+1) Int32 tokens.
    public func batch(_ index: Int) -> [Int32] {
        let width = sequenceLength + 1
        var out = [Int32](repeating: 0, count: batchSize * width)
        for row in 0..<batchSize {
            let start = ((index * batchSize + row) % windowCount) * sequenceLength
            for t in 0..<width { out[row * width + t] = Int32(bitPattern: tokens[start + t]) }
        }
        return out
    }
}
