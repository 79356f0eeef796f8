import Foundation

/// Runs `body` for every item on up to `width` threads (I/O-bound work such as transfers, where
/// more threads than cores pay off). Every item is attempted; failures are collected and thrown
/// together afterwards (the error itself when only one item failed).
func forEachConcurrently<Item>(_ items: [Item], width: Int, _ body: @escaping (Item) throws -> Void) throws {
    guard !items.isEmpty else { return }
    let lock = NSLock()
    var next = 0
    var errors: [Error] = []
    let group = DispatchGroup()
    for _ in 0..<min(max(1, width), items.count) {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            while true {
                lock.lock()
                let index = next
                next += 1
                lock.unlock()
                guard index < items.count else { return }
                do { try body(items[index]) } catch {
                    lock.lock(); errors.append(error); lock.unlock()
                }
            }
        }
    }
    group.wait()
    if errors.count == 1 { throw errors[0] }
    if !errors.isEmpty { throw RemoteError.transfers(failed: errors.count, first: errors.prefix(3).map { "\($0)" }) }
}
