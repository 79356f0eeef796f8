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
        /// Bytes per second so far.
        public var bytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds : 0 }

        public var description: String {
            let mib = Double(bytes) / 1_048_576
            return "\(direction): \(objects) object(s), \(String(format: "%.1f", mib)) MiB in "
                + "\(String(format: "%.2f", seconds)) s (\(String(format: "%.1f", bytesPerSecond / 1_048_576)) MiB/s)"
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

    /// Counts one finished object of `bytes` bytes.
    func add(bytes: Int64) {
        lock.lock()
        snapshot.objects += 1
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
