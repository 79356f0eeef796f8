import Foundation

/// Runs `body` for every item on up to `width` threads (I/O-bound work such as transfers, where
/// more threads than cores pay off). Every item is attempted; failures are collected and thrown
/// together afterwards (the error itself when only one item failed).
func forEachConcurrently<Item>(_ items: [Item], width: Int, _ body: @escaping (Item) throws -> Void) throws {
    guard !items.isEmpty else { return }
    let queue = WorkQueue(count: items.count)
    let group = DispatchGroup()
    for _ in 0..<min(max(1, width), items.count) {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            while let index = queue.next() {
                do { try body(items[index]) } catch { queue.fail(error) }
            }
        }
    }
    group.wait()
    let errors = queue.errors
    if errors.count == 1 { throw errors[0] }
    if !errors.isEmpty { throw RemoteError.transfers(failed: errors.count, first: errors.prefix(3).map { "\($0)" }) }
}

/// The shared state of `forEachConcurrently`'s threads: the next item and the errors so far.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private var position = 0
    private var failures: [Error] = []

    init(count: Int) { self.count = count }

    /// The next item's index, or nil when all are taken.
    func next() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard position < count else { return nil }
        position += 1
        return position - 1
    }

    func fail(_ error: Error) { lock.lock(); failures.append(error); lock.unlock() }

    var errors: [Error] { lock.lock(); defer { lock.unlock() }; return failures }
}
