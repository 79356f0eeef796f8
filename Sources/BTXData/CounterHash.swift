/// Stateless, counter-based randomness: a draw is a pure function of (seed, counters), so any
/// draw can be recomputed without replaying the ones before it (the idea of Salmon et al.,
/// "Parallel random numbers: as easy as 1, 2, 3", with a simpler mixer).
public enum CounterHash {
    /// A well-mixed 64-bit value of the inputs (Stafford's "Mix13" finalizer, applied per word).
    @inline(__always)
    public static func hash(_ a: UInt64, _ b: UInt64 = 0, _ c: UInt64 = 0) -> UInt64 {
        var h = fold(0x243F_6A88_85A3_08D3, a)
        h = fold(h, b)
        return fold(h, c)
    }

    @inline(__always)
    private static func fold(_ h: UInt64, _ x: UInt64) -> UInt64 {
        var z = (h ^ x) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1) from a hash (53 bits).
    @inline(__always)
    public static func unit(_ h: UInt64) -> Double { Double(h >> 11) * 0x1.0p-53 }
}

/// A sequential generator over `CounterHash`: draw i of stream `seed` is hash(seed, stream, i).
struct CounterRandom {
    let seed: UInt64, stream: UInt64
    private(set) var counter: UInt64 = 0

    init(seed: UInt64, stream: UInt64) {
        self.seed = seed
        self.stream = stream
    }

    mutating func next() -> UInt64 {
        counter += 1
        return CounterHash.hash(seed, stream, counter)
    }

    /// Uniform integer in `range` (modulo bias is below 2^-40 for the small ranges used here).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }
}
