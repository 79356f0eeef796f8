import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into a call of `handler` on a dispatch queue instead of killing the process,
/// so that a run can checkpoint and release its locks. A second signal exits at once with 130.
public final class SignalTrap {
    private var sources: [DispatchSourceSignal] = []
    private var received = 0
    private let lock = NSLock()

    /// Traps `signals` until the trap is deallocated.
    public init(_ signals: [Int32] = [SIGINT, SIGTERM], handler: @escaping (Int32) -> Void) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock(); self.received += 1; let count = self.received; self.lock.unlock()
                if count > 1 { exit(130) }
                handler(number)
            }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
