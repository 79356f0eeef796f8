/// A binary heap that pops its smallest element first (by `<`): the priority queue of BPE training
/// (most frequent pair) and of BPE encoding of long words (lowest-ranked merge).
struct BinaryHeap<Element: Comparable> {
    private var items: [Element] = []

    /// An empty heap.
    init() {}

    mutating func push(_ element: Element) {
        items.append(element)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !(items[i] < items[parent]) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    /// The smallest element, removed; nil when empty.
    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && items[l] < items[best] { best = l }
                if r < items.count && items[r] < items[best] { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
