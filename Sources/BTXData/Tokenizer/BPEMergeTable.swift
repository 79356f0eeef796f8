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
        var heap = MinHeap()
        func push(_ i: Int) {
            guard i >= 0, next[i] < n, let r = lookup(symbols[i], symbols[next[i]]) else { return }
            heap.push(key: (r >> 32) << 32 | UInt64(i), pair: UInt64(symbols[i]) << 32 | UInt64(symbols[next[i]]))
        }
        for i in 0..<(n - 1) { push(i) }
        while let (key, pair) = heap.pop() {
            let i = Int(key & 0xFFFF_FFFF)
            guard alive[i], next[i] < n, UInt64(symbols[i]) << 32 | UInt64(symbols[next[i]]) == pair,
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

/// A binary min-heap of (key, pair) on the key.
private struct MinHeap {
    private var items: [(key: UInt64, pair: UInt64)] = []

    mutating func push(key: UInt64, pair: UInt64) {
        items.append((key, pair))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent].key <= items[i].key { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (UInt64, UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && items[l].key < items[best].key { best = l }
                if r < items.count && items[r].key < items[best].key { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return (top.key, top.pair)
    }
}
