/// A shell-style path pattern: `*` matches within one path component, `**` any number of
/// components (including none), `?` one character, `[abc]` / `[a-z]` / `[!a]` a set.
/// Patterns are matched against paths relative to the source directory, with `/` separators.
public struct Glob: Sendable, CustomStringConvertible {
    /// The pattern text.
    public let pattern: String
    private let components: [String]

    /// A glob from its text (a trailing `/` means `/**`).
    public init(_ pattern: String) {
        self.pattern = pattern
        var p = pattern
        if p.hasSuffix("/") { p += "**" }
        components = p.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    public var description: String { pattern }

    /// Whether the relative `path` matches.
    public func matches(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map { Array($0.utf8) }
        return Glob.match(components.map { Array($0.utf8) }, 0, parts, 0)
    }

    private static func match(_ pattern: [[UInt8]], _ pi: Int, _ parts: [[UInt8]], _ si: Int) -> Bool {
        if pi == pattern.count { return si == parts.count }
        if pattern[pi] == Array("**".utf8) {
            for skip in si...parts.count where match(pattern, pi + 1, parts, skip) { return true }
            return false
        }
        guard si < parts.count, matchComponent(pattern[pi], 0, parts[si], 0) else { return false }
        return match(pattern, pi + 1, parts, si + 1)
    }

    private static func matchComponent(_ p: [UInt8], _ pi: Int, _ s: [UInt8], _ si: Int) -> Bool {
        if pi == p.count { return si == s.count }
        switch p[pi] {
        case UInt8(ascii: "*"):
            for k in si...s.count where matchComponent(p, pi + 1, s, k) { return true }
            return false
        case UInt8(ascii: "?"):
            return si < s.count && matchComponent(p, pi + 1, s, si + 1)
        case UInt8(ascii: "["):
            guard si < s.count, let close = p[(pi + 1)...].firstIndex(of: UInt8(ascii: "]")) else { break }
            var set = Array(p[(pi + 1)..<close])
            let negate = set.first == UInt8(ascii: "!")
            if negate { set.removeFirst() }
            var hit = false, k = 0
            while k < set.count {
                if k + 2 < set.count && set[k + 1] == UInt8(ascii: "-") {
                    // NOTE: a reversed range such as [z-a] matches nothing (a ClosedRange would trap).
                    hit = hit || (set[k] <= s[si] && s[si] <= set[k + 2])
                    k += 3
                } else {
                    hit = hit || set[k] == s[si]
                    k += 1
                }
            }
            return hit != negate && matchComponent(p, close + 1, s, si + 1)
        default: break
        }
        return si < s.count && p[pi] == s[si] && matchComponent(p, pi + 1, s, si + 1)
    }
}
