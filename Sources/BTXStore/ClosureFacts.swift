import Foundation

/// The objects a manifest or run record refers to, by the document's hash: a pure function of the
/// hash (objects are content-addressed and verified when read), so each is decoded once per store
/// however often its closure is checked (a run plans, then executes, each cached stage).
// NOTE: presence is still checked each time (`hasObject`) and only a successful read is remembered.
// A document damaged in place after its first check is not noticed here but by its next reader, which
// quarantines it; from then on `hasObject` fails and the closure has a gap (the runner heals on that).
final class ClosureFacts: @unchecked Sendable {
    private let lock = NSLock()
    private var references: [ObjectHash: [ObjectHash]] = [:]

    /// The references of `document`, read by `read` the first time; nil when it cannot be read.
    func remembered(_ document: ObjectHash, _ read: (ObjectHash) throws -> [ObjectHash]) -> [ObjectHash]? {
        if let known = lock.withLock({ references[document] }) { return known }
        guard let found = try? read(document) else { return nil }
        lock.withLock { references[document] = found }
        return found
    }
}
