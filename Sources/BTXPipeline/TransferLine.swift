import BTXStore
import Foundation

/// Shows a transfer's progress (objects and bytes against the totals, rate, ETA) on stderr: one line
/// redrawn in place on a live terminal, cut to its width; plain lines every few seconds when stderr
/// is not a terminal or `TERM=dumb`; nothing when quiet. It draws no colour, so `NO_COLOR` holds.
public final class TransferLine: @unchecked Sendable {
    private let live: Bool
    private let quiet: Bool
    private let columns: () -> Int?
    private let write: (String) -> Void
    private let lock = NSLock()
    private var drawn = false
    /// Seconds between reports.
    public let interval: Double

    /// A line writing with `write`: redrawn in place when `live` (cut to `columns()`), else plain
    /// lines at most every `plainInterval` seconds.
    public init(live: Bool, quiet: Bool, plainInterval: Double, columns: @escaping () -> Int? = { nil },
                write: @escaping (String) -> Void) {
        self.live = live
        self.quiet = quiet
        self.columns = columns
        self.write = write
        interval = live ? 0.2 : plainInterval
    }

    /// A line on this process's stderr.
    public convenience init(standardErrorQuiet quiet: Bool, plainInterval: Double,
                            environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(live: TerminalInfo.isLiveTerminal(2, environment: environment), quiet: quiet, plainInterval: plainInterval,
                  columns: { TerminalInfo.columns(2, environment: environment) }) {
            FileHandle.standardError.write(Data($0.utf8))
        }
    }

    /// A progress counter for `direction` that reports here.
    public func progress(_ direction: String) -> TransferProgress {
        TransferProgress(direction: direction, interval: interval) { [self] in show($0) }
    }

    /// Shows one snapshot.
    public func show(_ snapshot: TransferProgress.Snapshot) {
        // NOTE: plain lines start after one interval, so a quick transfer adds nothing to a log.
        guard !quiet, live || snapshot.seconds >= interval else { return }
        let text = snapshot.description
        lock.lock(); defer { lock.unlock() }
        if live {
            let cut = columns().map { String(text.prefix(max(1, $0 - 1))) } ?? text
            write("\r\u{1B}[K\(cut)")
            drawn = true
        } else {
            write("\(text)\n")
        }
    }

    /// Ends a live line so the next output starts on a fresh line.
    public func end() {
        lock.lock(); defer { lock.unlock() }
        if drawn { write("\r\u{1B}[K") }
        drawn = false
    }
}
