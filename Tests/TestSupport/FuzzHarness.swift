import BTXTensor
import Foundation

/// Deterministic, seeded mutations of valid inputs, the kinds that break parsers: bit flips,
/// truncations, splices from other inputs, deleted or duplicated ranges, and length fields that lie
/// (a little-endian 16/32/64-bit integer overwritten with 0, 2^31, 2^50, all ones, …).
public struct Mutator {
    private var rng: SplitMix64

    /// A mutator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 | 1) }

    /// The next pseudo-random number.
    public mutating func next() -> UInt64 { rng.next() }

    /// A number in 0..<n (n > 0).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    private static let lies: [UInt64] = [0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                          1 << 40, 1 << 50, 1 << 62, UInt64.max]

    /// One to three mutations of `input`; `corpus` supplies splice material.
    public mutating func mutate(_ input: [UInt8], corpus: [[UInt8]]) -> [UInt8] {
        var out = input
        for _ in 0...below(3) {
            switch below(7) {
            case 0 where !out.isEmpty:   // bit flips
                for _ in 0...below(8) { out[below(out.count)] ^= UInt8(1) << UInt8(below(8)) }
            case 1 where !out.isEmpty:   // truncation
                out.removeLast(1 + below(out.count))
            case 2:                      // splice from another input
                let other = corpus[below(corpus.count)]
                guard !other.isEmpty else { continue }
                let from = below(other.count), length = 1 + below(min(64, other.count - from))
                out.insert(contentsOf: other[from..<(from + length)], at: below(out.count + 1))
            case 3 where out.count >= 8: // a length field that lies
                let width = [2, 4, 8][below(3)]
                let at = below(out.count - width + 1)
                let value = Mutator.lies[below(Mutator.lies.count)]
                for i in 0..<width { out[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            case 4 where out.count > 1:  // delete a range
                let from = below(out.count), length = 1 + below(min(32, out.count - from))
                out.removeSubrange(from..<(from + length))
            case 5 where !out.isEmpty:   // duplicate a range
                let from = below(out.count), length = 1 + below(min(256, out.count - from))
                out.insert(contentsOf: out[from..<(from + length)], at: below(out.count + 1))
            default:                     // an interesting byte
                if !out.isEmpty { out[below(out.count)] = [0, 0xFF, 0x7F, 0x80, 0x22, 0x7B, 0x5B, 0x2D][below(8)] }
            }
        }
        return out
    }
}

/// Runs a parser over many mutated inputs and checks that each one either succeeds or throws an
/// error whose description is one line; a crash or trap ends the test process (so "0 crashes" is
/// the test finishing), and the slowest input is measured so hangs show.
public enum FuzzHarness {
    /// Inputs per format: `BTXPIPE_FUZZ_COUNT` (`make soak` sets 10000), else a slice for `make test`.
    public static var count: Int { Int(ProcessInfo.processInfo.environment["BTXPIPE_FUZZ_COUNT"] ?? "") ?? 300 }

    /// What one format's run found.
    public struct Outcome {
        public var inputs = 0, accepted = 0, rejected = 0
        /// Errors whose description spans several lines (each should be one line), and the first few.
        public var multiLineCount = 0
        public var multiLine: [String] = []
        /// The slowest single input, in seconds.
        public var slowest = 0.0
        public var seconds = 0.0
    }

    /// Feeds `count` mutations of `seeds` to `parse` (seeded by `seed`); prints a JSON line (a soak
    /// figure) when `BTXPIPE_SOAK` is set.
    public static func run(format: String, seeds: [[UInt8]], count: Int = FuzzHarness.count, seed: UInt64 = 15,
                           parse: ([UInt8]) throws -> Void) -> Outcome {
        var mutator = Mutator(seed: seed)
        var outcome = Outcome()
        let start = Date()
        for i in 0..<count {
            let input = mutator.mutate(seeds[i % seeds.count], corpus: seeds)
            let began = Date()
            do { try parse(input); outcome.accepted += 1 } catch {
                outcome.rejected += 1
                let text = "\(error)"
                if text.contains("\n") {
                    outcome.multiLineCount += 1
                    if outcome.multiLine.count < 5 { outcome.multiLine.append(text) }
                }
            }
            outcome.slowest = max(outcome.slowest, Date().timeIntervalSince(began))
            outcome.inputs += 1
        }
        outcome.seconds = Date().timeIntervalSince(start)
        if ProcessInfo.processInfo.environment["BTXPIPE_SOAK"] != nil {
            print(String(format: #"{"figure":"fuzz","format":"%@","inputs":%d,"accepted":%d,"rejected":%d,"crashes":0,"multiline_errors":%d,"slowest_s":%.3f,"seconds":%.1f}"#,
                         format, outcome.inputs, outcome.accepted, outcome.rejected, outcome.multiLineCount, outcome.slowest, outcome.seconds))
        }
        return outcome
    }
}
