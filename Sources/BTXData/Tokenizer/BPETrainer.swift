import Foundation

/// Learns byte-level BPE merges from text as a pure function of the text and the vocab size.
///
/// Usage: `add` every document (order does not matter: only word counts are kept), then `train`.
/// Training works on the unique pre-token words with their counts and keeps pair counts
/// incrementally: merging a pair touches only the words that contain it.
/// Ties between equally frequent pairs go to the smaller (left, right) id pair, so the result
/// is the same on every run and machine.
public struct BPETrainer {
    /// Unique words (as bytes) and how often each occurred.
    private var wordIndex: [UInt64: Int32] = [:]
    private var collided: [[UInt8]: Int32] = [:]
    private(set) var words: [[UInt8]] = []
    private(set) var counts: [Int] = []
    /// Total bytes seen.
    public private(set) var byteCount = 0

    /// An empty trainer.
    public init() {}

    /// Counts the pre-tokens of one document (invalid UTF-8 replaced by U+FFFD, as the encoder does).
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        if let valid = ScalarText.validUTF8(bytes) {
            valid.withUnsafeBytes { add($0) }
            return
        }
        byteCount += bytes.count
        PreTokenizer.split(bytes) { start, end in
            let word = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            let h = BPEEncoder.hash(word)
            if let i = wordIndex[h] {
                if words[Int(i)].elementsEqual(word) { counts[Int(i)] += 1; return }
                let key = Array(word)
                if let j = collided[key] { counts[Int(j)] += 1; return }
                collided[key] = Int32(words.count)
            } else {
                wordIndex[h] = Int32(words.count)
            }
            words.append(Array(word))
            counts.append(1)
        }
    }

    /// Counts the pre-tokens of one document.
    public mutating func add(_ data: Data) { data.withUnsafeBytes { add($0) } }

    /// Learns `vocabSize - 258` merges (fewer if the text runs out of pairs).
    public func train(vocabSize: Int) throws -> BPETokenizer {
        guard vocabSize >= 258, vocabSize <= 1 << 24 else { throw TokenizerError.invalidVocabSize(vocabSize) }
        // Sorting makes everything below independent of hash-table order.
        let order = words.indices.sorted { words[$0].lexicographicallyPrecedes(words[$1]) }
        var state = MergeState(words: order.map { words[$0].map(UInt32.init) }, counts: order.map { counts[$0] })
        var merges: [BPETokenizer.Merge] = []
        for r in 0..<(vocabSize - 258) {
            guard let pair = state.popBest() else { break }
            merges.append(BPETokenizer.Merge(UInt32(pair >> 32), UInt32(pair & 0xFFFF_FFFF)))
            state.merge(pair, into: UInt32(256 + r))
        }
        return try BPETokenizer(merges: merges)
    }
}

/// The mutable bookkeeping of BPE training: symbols per word, pair counts, where each pair occurs,
/// and a max-heap of (count, pair) with lazy deletion of stale entries.
private struct MergeState {
    var symbols: [[UInt32]]
    let counts: [Int]
    var pairCounts: [UInt64: Int] = [:]
    var occurrences: [UInt64: [Int32]] = [:]
    var heap = BinaryHeap<PairCount>()
    var lastVisit: [Int]

    init(words: [[UInt32]], counts: [Int]) {
        symbols = words
        self.counts = counts
        lastVisit = [Int](repeating: -1, count: words.count)
        for (w, s) in words.enumerated() where s.count > 1 {
            for i in 0..<(s.count - 1) {
                let p = UInt64(s[i]) << 32 | UInt64(s[i + 1])
                pairCounts[p, default: 0] += counts[w]
                occurrences[p, default: []].append(Int32(w))
            }
        }
        for (p, c) in pairCounts.sorted(by: { $0.key < $1.key }) { heap.push(PairCount(count: c, pair: p)) }
    }

    /// The most frequent pair (smallest on ties), or nil when no pair is left.
    mutating func popBest() -> UInt64? {
        while let top = heap.pop() {
            if pairCounts[top.pair] == top.count { return top.pair }
        }
        return nil
    }

    /// Replaces every occurrence of `pair` by `merged`, updating the counts of neighbouring pairs.
    mutating func merge(_ pair: UInt64, into merged: UInt32) {
        let left = UInt32(pair >> 32), right = UInt32(pair & 0xFFFF_FFFF)
        var delta: [UInt64: Int] = [:]
        let stamp = Int(merged)
        for w32 in occurrences.removeValue(forKey: pair) ?? [] {
            let w = Int(w32)
            if lastVisit[w] == stamp { continue }
            lastVisit[w] = stamp
            let old = symbols[w], c = counts[w]
            var new: [UInt32] = []
            new.reserveCapacity(old.count)
            var i = 0
            while i < old.count {
                if i + 1 < old.count && old[i] == left && old[i + 1] == right {
                    new.append(merged)
                    i += 2
                } else {
                    new.append(old[i])
                    i += 1
                }
            }
            if new.count == old.count { continue }
            for i in 0..<(old.count - 1) { delta[UInt64(old[i]) << 32 | UInt64(old[i + 1]), default: 0] -= c }
            for i in 0..<max(new.count - 1, 0) {
                let p = UInt64(new[i]) << 32 | UInt64(new[i + 1])
                delta[p, default: 0] += c
                if new[i] == merged || new[i + 1] == merged { occurrences[p, default: []].append(w32) }
            }
            symbols[w] = new
        }
        for (p, d) in delta where d != 0 {
            let c = pairCounts[p, default: 0] + d
            if c > 0 {
                pairCounts[p] = c
                heap.push(PairCount(count: c, pair: p))
            } else {
                pairCounts[p] = nil
            }
        }
    }
}

/// A pair count in the training heap: larger counts first, then the smaller pair (the tie rule).
private struct PairCount: Comparable {
    let count: Int, pair: UInt64
    static func < (a: PairCount, b: PairCount) -> Bool { a.count != b.count ? a.count > b.count : a.pair < b.pair }
}
