import BTXStore
import Foundation

/// Shows a run to the user. On a terminal: one line per running stage with a bar, step/total, loss,
/// tokens/s and ETA, redrawn in place below the scrolling notes, each cut to the terminal's width
/// (a wrapped line would break the cursor-up redraw). Otherwise (not a terminal, or `TERM=dumb`):
/// plain timestamped lines, a stage's progress at most every `plainInterval` seconds or 10% of its steps.
public final class ProgressView: RunObserver, @unchecked Sendable {
    private struct Live {
        var step = 0, total = 0
        /// The first step reported: a resumed stage starts past 1, and its rate counts only the steps run here.
        var firstStep: Int?
        var fields: [String: Double] = [:]
        var started: Double
        var printedAt = -Double.infinity
        var printedDecile = -1
    }

    private let write: (String) -> Void
    private let isTerminal: Bool
    private let color: Bool
    private let clock: () -> Double
    private let plainInterval: Double
    private let width: () -> Int?
    /// `-q`: only failures are shown (no progress, no notes, no logs).
    public var quiet = false
    private let lock = NSLock()
    private var live: [(stage: String, state: Live)] = []
    private var drawnLines = 0
    private var lastDraw = -Double.infinity

    /// A view writing with `write` (e.g. to stderr); `isTerminal` picks the live view; `color` is off under NO_COLOR.
    /// `width` gives the terminal's columns now (nil: unknown, lines are not cut).
    public init(isTerminal: Bool, color: Bool, plainInterval: Double = 5, clock: @escaping () -> Double = { Date().timeIntervalSince1970 },
                width: @escaping () -> Int? = { nil }, write: @escaping (String) -> Void) {
        self.isTerminal = isTerminal
        self.width = width
        self.color = color
        self.plainInterval = plainInterval
        self.clock = clock
        self.write = write
    }

    /// A view on stderr: live when stderr is a terminal that can move the cursor (not `TERM=dumb`),
    /// colored unless `NO_COLOR` is set (to anything, as no-color.org says).
    public static func standardError(environment: [String: String], plainInterval: Double = 5) -> ProgressView {
        let terminal = TerminalInfo.isLiveTerminal(2, environment: environment)
        return ProgressView(isTerminal: terminal, color: terminal && environment["NO_COLOR"] == nil, plainInterval: plainInterval,
                            width: { TerminalInfo.columns(2, environment: environment) }) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    // MARK: RunObserver

    public func stageStarted(_ stage: String, key: ObjectHash) {
        locked {
            live.append((stage, Live(started: clock())))
            emit("\(paint("run", 36)) \(stage) (key \(key.short))")
        }
    }

    public func stageEnded(_ result: StageResult) {
        locked {
            live.removeAll { $0.stage == result.stage }
            switch result.outcome {
            case .cached: emit("\(paint("cached", 2)) \(result.stage)")
            case .ran(_, let seconds): emit("\(paint("done", 32)) \(result.stage) in \(Self.duration(seconds))")
            case .failed(let error): emit("\(paint("FAILED", 31)) \(result.stage): \(error)", always: true)
            case .cancelled: emit("\(paint("cancelled", 33)) \(result.stage)")
            case .skipped(let input): emit("\(paint("skipped", 33)) \(result.stage) (input \(input) did not finish)")
            case .notStarted: emit("\(paint("not started", 33)) \(result.stage)")
            }
        }
    }

    public func note(_ line: String) { locked { emit(line) } }

    public func log(stage: String, line: String) { locked { emit("\(stage) | \(line)") } }

    public func progress(stage: String, step: Int, total: Int, fields: [String: Double]) {
        if quiet { return }
        locked {
            guard let index = live.firstIndex(where: { $0.stage == stage }) else { return }
            live[index].state.step = step
            live[index].state.firstStep = live[index].state.firstStep ?? step
            live[index].state.total = total
            live[index].state.fields = fields
            if isTerminal {
                if clock() - lastDraw >= 0.1 || step == total { redraw() }
            } else {
                let state = live[index].state
                let decile = total > 0 ? step * 10 / total : 0
                // NOTE: no line for the last step: the "done" line follows at once.
                if step < total && (clock() - state.printedAt >= plainInterval || decile > state.printedDecile) {
                    live[index].state.printedAt = clock()
                    live[index].state.printedDecile = decile
                    emit(line(stage, state, barWidth: 0))
                }
            }
        }
    }

    // MARK: drawing

    private func locked(_ body: () -> Void) { lock.lock(); body(); lock.unlock() }

    /// Prints a scrolling line: timestamped when plain, above the live block on a terminal.
    private func emit(_ text: String, always: Bool = false) {
        if quiet && !always { return }
        guard isTerminal else { return write("[\(Self.clockTime(clock()))] \(text)\n") }
        clearLive()
        write(text + "\n")
        redraw()
    }

    private func clearLive() {
        if drawnLines > 0 { write("\u{1B}[\(drawnLines)A\u{1B}[J") }
        drawnLines = 0
    }

    private func redraw() {
        clearLive()
        let columns = width()
        for (stage, state) in live {
            let text = line(stage, state, barWidth: 24)
            // NOTE: one column short of the width: a line that fills it exactly wraps on some terminals.
            write((columns.map { String(text.prefix(max(1, $0 - 1))) } ?? text) + "\n")
        }
        drawnLines = live.count
        lastDraw = clock()
    }

    /// "train[code] [######------] 120/400 loss 2.31 tok/s 5400 eta 1m12s"
    private func line(_ stage: String, _ state: Live, barWidth: Int) -> String {
        let elapsed = clock() - state.started
        guard state.total > 0 else { return "\(stage) running \(Self.duration(elapsed))" }
        let fraction = min(1, Double(state.step) / Double(state.total))
        var text = stage
        if barWidth > 0 {
            let filled = Int(fraction * Double(barWidth))
            text += " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]"
        }
        text += " \(state.step)/\(state.total)"
        if let loss = state.fields["loss"] { text += String(format: " loss %.4f", loss) }
        if let rate = state.fields["tokens_per_s"] { text += String(format: " tok/s %.0f", rate) }
        for (name, value) in state.fields.sorted(by: { $0.key < $1.key }) where name != "loss" && name != "tokens_per_s" {
            text += " \(name) \(String(format: "%.4g", value))"
        }
        if state.step > 0, state.total > state.step {
            let stepsHere = state.step - (state.firstStep ?? 1) + 1
            text += " eta " + Self.duration(elapsed / Double(max(stepsHere, 1)) * Double(state.total - state.step))
        }
        return text
    }

    private func paint(_ text: String, _ code: Int) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// "1.2s", "3m05s", "2h01m".
    public static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let whole = Int(seconds)
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60)
    }

    /// "HH:MM:SS" in UTC.
    static func clockTime(_ seconds: Double) -> String {
        let day = Int(seconds) % 86400
        return String(format: "%02d:%02d:%02d", day / 3600, day % 3600 / 60, day % 60)
    }
}
