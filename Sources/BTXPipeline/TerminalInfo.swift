import Foundation

/// What a progress display needs to know about the terminal: whether it can redraw in place, and
/// how wide it is.
public enum TerminalInfo {
    /// True when `descriptor` is a terminal and `TERM` is not `dumb` (a dumb terminal cannot move the cursor).
    public static func isLiveTerminal(_ descriptor: Int32, environment: [String: String]) -> Bool {
        isatty(descriptor) == 1 && environment["TERM"] != "dumb"
    }

    /// The terminal's columns: the window size of `descriptor`, else `COLUMNS`, else nil.
    public static func columns(_ descriptor: Int32, environment: [String: String]) -> Int? {
        var size = winsize()
        if ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return environment["COLUMNS"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
    }
}
