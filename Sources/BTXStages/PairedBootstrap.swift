import BTXTensor

/// A paired, domain-stratified bootstrap over held-out sequences. Every model of a comparison
/// scored the same sequences, so one resample of sequence indices (drawn per domain) applies to all
/// of them: the interval is that of the difference itself, not of two independent means.
struct PairedBootstrap {
    /// Mean over the current resample of one row's per-sequence losses on one domain.
    typealias Mean = (_ values: [Double], _ domain: String) -> Double

    /// How many resamples; the interval's coverage.
    var resamples = 2000
    var coverage = 0.95
    /// Fixed, so that a report is a pure function of its inputs.
    var seed: UInt64 = 19

    /// `statistic` on the observed sequences (point) and its percentile interval over resamples.
    /// `sizes` gives each domain's sequence count (every row's values must have that many).
    func interval(sizes: [String: Int], _ statistic: (Mean) -> Double) -> Interval {
        let point = statistic { values, _ in values.reduce(0, +) / Double(max(values.count, 1)) }
        var rng = SplitMix64(seed: seed)
        var indices: [String: [Int]] = sizes.mapValues { [Int](repeating: 0, count: $0) }
        var draws = [Double]()
        draws.reserveCapacity(resamples)
        let domains = sizes.sorted(by: { $0.key < $1.key })  // a fixed draw order, so the interval is reproducible
        for _ in 0..<resamples {
            for (domain, n) in domains {
                for i in 0..<n { indices[domain]![i] = Int(rng.next() % UInt64(n)) }
            }
            draws.append(statistic { values, domain in
                let picked = indices[domain]!
                return picked.reduce(0) { $0 + values[$1] } / Double(max(picked.count, 1))
            })
        }
        draws.sort()
        let tail = (1 - coverage) / 2
        let at = { (q: Double) in draws[min(draws.count - 1, max(0, Int((q * Double(draws.count)).rounded(.down))))] }
        return Interval(point: point, low: at(tail), high: at(1 - tail))
    }
}

/// A point estimate with its bootstrap interval.
struct Interval: Equatable {
    var point: Double, low: Double, high: Double

    /// Held when the whole interval is below `bound`, not held when it is all above, else inconclusive.
    func below(_ bound: Double) -> Verdict {
        high < bound ? .held : low > bound ? .notHeld : .inconclusive
    }

    /// Held when the whole interval is above `bound`, not held when it is all below, else inconclusive.
    func above(_ bound: Double) -> Verdict {
        low > bound ? .held : high < bound ? .notHeld : .inconclusive
    }

    /// The interval with every bound multiplied by `factor` (> 0), e.g. 100 for percentage points.
    func scaled(_ factor: Double) -> Interval { Interval(point: point * factor, low: low * factor, high: high * factor) }

    /// "0.012 [0.004, 0.020]"
    func text(_ format: String = "%+.3f") -> String {
        String(format: "\(format) [\(format), \(format)]", point, low, high)
    }
}

/// What the numbers say of a claim.
public enum Verdict: String, Equatable, Sendable {
    case held, notHeld = "not held", inconclusive, notTested = "not tested"

    /// Any part not held → not held; every part held → held; no part tested (or none) → not tested;
    /// else inconclusive (some part inconclusive or not tested).
    static func all(_ parts: [Verdict]) -> Verdict {
        if parts.contains(.notHeld) { return .notHeld }
        if parts.allSatisfy({ $0 == .notTested }) { return .notTested }
        return parts.allSatisfy { $0 == .held } ? .held : .inconclusive
    }
}
