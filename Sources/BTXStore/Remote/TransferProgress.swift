import Foundation

/// Counts objects and bytes moved by parallel transfers and reports a line with the rate at most
/// every `interval` seconds (and once at the end, from `finish`).
public final class TransferProgress: @unchecked Sendable {
    /// What has moved so far.
    public struct Snapshot: Sendable, CustomStringConvertible {
        /// "push" or "pull".
        public var direction: String
        /// Objects transferred (present ones skipped are not counted).
        public var objects: Int
        /// Bytes transferred (compressed, as on the wire).
        public var bytes: Int64
        /// Seconds since the start.
        public var seconds: Double
        /// Objects dealt with so far, including those skipped because the other side had them.
        public var checked = 0
        /// Objects to deal with, when known.
        public var totalObjects: Int?
        /// Bytes to move, when known (upper bound: objects the other side has are not sent).
        public var totalBytes: Int64?
        /// Bytes per second so far.
        public var bytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds : 0 }

        /// Seconds left at the rate so far, when a total is known (by bytes if known, else by objects).
        public var eta: Double? {
            if let totalBytes, bytes > 0, seconds > 0 { return max(0, Double(totalBytes - bytes) / bytesPerSecond) }
            if let totalObjects, checked > 0, seconds > 0 { return max(0, seconds / Double(checked) * Double(totalObjects - checked)) }
            return nil
        }

        public var description: String {
            let mib = Double(bytes) / 1_048_576
            let rate = String(format: "%.1f MiB/s", bytesPerSecond / 1_048_576)
            guard let totalObjects else {
                return "\(direction): \(objects) object(s), \(String(format: "%.1f", mib)) MiB in "
                    + "\(String(format: "%.2f", seconds)) s (\(rate))"
            }
            var text = "\(direction): \(checked)/\(totalObjects) objects, \(String(format: "%.1f", mib))"
            if let totalBytes { text += String(format: "/%.1f", Double(totalBytes) / 1_048_576) }
            text += " MiB, \(rate)"
            if let eta, checked < totalObjects { text += String(format: ", eta %.0fs", eta.rounded(.up)) }
            return text
        }
    }

    private let lock = NSLock()
    private let started = Date()
    private var snapshot: Snapshot
    private var lastReport = Date.distantPast
    private let interval: Double
    private let report: ((Snapshot) -> Void)?

    /// A counter for `direction` that calls `report` with progress.
    public init(direction: String, interval: Double = 0.5, report: ((Snapshot) -> Void)?) {
        snapshot = Snapshot(direction: direction, objects: 0, bytes: 0, seconds: 0)
        self.interval = interval
        self.report = report
    }

    /// Sets the totals the progress is measured against.
    public func expect(objects: Int, bytes: Int64?) {
        lock.lock()
        snapshot.totalObjects = objects
        snapshot.totalBytes = bytes
        lock.unlock()
    }

    /// Counts one object that needed no transfer.
    public func skip() {
        lock.lock()
        snapshot.checked += 1
        lock.unlock()
    }

    /// Counts one finished object of `bytes` bytes.
    public func add(bytes: Int64) {
        lock.lock()
        snapshot.objects += 1
        snapshot.checked += 1
        snapshot.bytes += bytes
        snapshot.seconds = Date().timeIntervalSince(started)
        let due = Date().timeIntervalSince(lastReport) >= interval
        if due { lastReport = Date() }
        let current = snapshot
        lock.unlock()
        if due { report?(current) }
    }

    /// The totals now (and a last report when anything moved).
    @discardableResult
    public func finish() -> Snapshot {
        lock.lock()
        snapshot.seconds = Date().timeIntervalSince(started)
        let current = snapshot
        lock.unlock()
        if current.objects > 0 { report?(current) }
        return current
    }
}
