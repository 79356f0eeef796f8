/// BPE merge rules by id: (left, right) → (rank, merged id). `apply` merges a word's symbols the way
/// `tokenizers`' `Word::merge_all` does: always the lowest-ranked adjacent pair, leftmost first.
struct BPEMergeTable: Sendable {
    /// left << 32 | right → rank << 32 | merged id.
    private var table: [UInt64: UInt64] = [:]

    /// An empty table with room for `capacity` merges.
    init(capacity: Int = 0) { table.reserveCapacity(capacity) }

    /// Number of rules.
    var count: Int { table.count }

    /// Adds a rule; a later rule for the same pair replaces an earlier one (as `tokenizers` does).
    mutating func add(left: UInt32, right: UInt32, merged: UInt32, rank: Int) {
        table[UInt64(left) << 32 | UInt64(right)] = UInt64(rank) << 32 | UInt64(merged)
    }

    /// rank << 32 | merged id of the pair, or nil.
    @inline(__always)
    func lookup(_ left: UInt32, _ right: UInt32) -> UInt64? { table[UInt64(left) << 32 | UInt64(right)] }

    /// Merges `symbols` in place until no rule applies.
    func apply(_ symbols: inout [UInt32]) {
        if symbols.count > 48 { applyWithHeap(&symbols); return }
        while symbols.count > 1 {
            var best = UInt64.max, at = -1
            for i in 0..<(symbols.count - 1) {
                if let r = lookup(symbols[i], symbols[i + 1]), r < best { best = r; at = i }
            }
            if at < 0 { break }
            let left = symbols[at], right = symbols[at + 1], merged = UInt32(truncatingIfNeeded: best)
            var j = at, i = at
            while i < symbols.count {
                if i + 1 < symbols.count && symbols[i] == left && symbols[i + 1] == right {
                    symbols[j] = merged
                    i += 2
                } else {
                    symbols[j] = symbols[i]
                    i += 1
                }
                j += 1
            }
            symbols.removeLast(symbols.count - j)
        }
    }

    /// The same merges in O(n log n) for long words (a whole document under SentencePiece-style
    /// tokenizers): a linked list of symbols and a heap of candidate pairs ordered by (rank, position),
    /// stale entries skipped when popped.
    private func applyWithHeap(_ symbols: inout [UInt32]) {
        let n = symbols.count
        var next = Array(1...n), prev = Array(-1..<(n - 1)), alive = [Bool](repeating: true, count: n)
        var heap = BinaryHeap<MergeCandidate>()
        func push(_ i: Int) {
            guard i >= 0, next[i] < n, let r = lookup(symbols[i], symbols[next[i]]) else { return }
            heap.push(MergeCandidate(key: (r >> 32) << 32 | UInt64(i), pair: UInt64(symbols[i]) << 32 | UInt64(symbols[next[i]])))
        }
        for i in 0..<(n - 1) { push(i) }
        while let top = heap.pop() {
            let i = Int(top.key & 0xFFFF_FFFF)
            guard alive[i], next[i] < n, UInt64(symbols[i]) << 32 | UInt64(symbols[next[i]]) == top.pair,
                  let r = lookup(symbols[i], symbols[next[i]]) else { continue }
            let j = next[i]
            symbols[i] = UInt32(truncatingIfNeeded: r)
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            push(prev[i])
            push(i)
        }
        var out: [UInt32] = []
        var i = 0
        while i < n { out.append(symbols[i]); i = next[i] }
        symbols = out
    }
}

/// A merge candidate of the long-word heap: (rank << 32 | left position) orders it; `pair` is the
/// two ids it was pushed for (stale when they changed since).
private struct MergeCandidate: Comparable {
    let key: UInt64, pair: UInt64
    static func < (a: MergeCandidate, b: MergeCandidate) -> Bool { a.key < b.key }
}
