import BTXPipeline
import BTXStore
import Foundation

/// Shows a transfer's progress (objects and bytes against the totals, rate, ETA) on stderr: one line
/// redrawn in place on a live terminal, cut to its width; plain lines every few seconds when stderr
/// is not a terminal or `TERM=dumb`; nothing under `-q`.
final class TransferLine: @unchecked Sendable {
    private let live: Bool
    private let quiet: Bool
    private let environment: [String: String]
    private let lock = NSLock()
    private var drawn = false
    /// Seconds between reports.
    let interval: Double

    /// A line for this process's stderr.
    init(verbosity: Verbosity, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        live = TerminalInfo.isLiveTerminal(2, environment: environment)
        quiet = verbosity.quiet
        interval = live ? 0.2 : verbosity.plainInterval
    }

    /// A progress counter for `direction` that reports here.
    func progress(_ direction: String) -> TransferProgress {
        TransferProgress(direction: direction, interval: interval) { [self] in show($0) }
    }

    /// Shows one snapshot.
    func show(_ snapshot: TransferProgress.Snapshot) {
        // NOTE: plain lines start after one interval, so a quick transfer adds nothing to a log.
        guard !quiet, live || snapshot.seconds >= interval else { return }
        let text = snapshot.description
        lock.lock(); defer { lock.unlock() }
        if live {
            let columns = TerminalInfo.columns(2, environment: environment)
            let cut = columns.map { String(text.prefix(max(1, $0 - 1))) } ?? text
            FileHandle.standardError.write(Data("\r\u{1B}[K\(cut)".utf8))
            drawn = true
        } else {
            FileHandle.standardError.write(Data("\(text)\n".utf8))
        }
    }

    /// Ends a live line so the next output starts on a fresh line.
    func end() {
        lock.lock(); defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
    }
}
