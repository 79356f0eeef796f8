/// The pre-tokenizer regexes btxpipe knows, each matched by hand over `ScalarText` with exactly
/// the regex's leftmost-alternative semantics (as Oniguruma runs it in `tokenizers`).
///
/// A `Split` pre-tokenizer whose regex is not one of these is refused by name: a regex engine of
/// our own would differ from Oniguruma somewhere and silently mis-encode.
enum SplitPattern: String, CaseIterable, Sendable {
    /// GPT-2 (openai/gpt-2 encoder.py); also the regex of `ByteLevel` with `use_regex: true`
    /// and llama.cpp's "gpt2" pre-tokenizer.
    case gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// Llama 3 (tiktoken cl100k-style, numbers in groups of up to three digits).
    case llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2: Llama 3's with single digits.
    case qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Calls `body(start, end)` (scalar indices) for each match; the matches tile the text.
    func split(_ text: ScalarText, _ body: (Int, Int) throws -> Void) rethrows {
        try text.scalars.withUnsafeBufferPointer { v in
            try text.classes.withUnsafeBufferPointer { c in
                var i = 0
                while i < v.count {
                    let end = self == .gpt2 ? Self.gpt2Match(v, c, i) : Self.tiktokenMatch(v, c, i, maxDigits: self == .llama3 ? 3 : 1)
                    try body(i, end)
                    i = end
                }
            }
        }
    }

    typealias Scalars = UnsafeBufferPointer<UInt32>
    typealias Classes = UnsafeBufferPointer<ScalarClass>

    /// End of the class-`k` run starting at `j`.
    @inline(__always)
    static func run(_ c: Classes, from j: Int, of k: ScalarClass) -> Int {
        var e = j
        while e < c.count && c[e] == k { e += 1 }
        return e
    }

    /// `\s+(?!\S)|\s+` at a whitespace scalar: the run without its last scalar when a non-space
    /// follows (that scalar goes with what follows), else the whole run.
    @inline(__always)
    static func spaceMatch(_ c: Classes, _ i: Int) -> Int {
        let j = run(c, from: i, of: .space)
        return j < c.count && j - i > 1 ? j - 1 : j
    }

    /// GPT-2's pattern at `i`: the end of the match.
    static func gpt2Match(_ v: Scalars, _ c: Classes, _ i: Int) -> Int {
        if v[i] == 0x27, let len = contraction(v, i, ignoringCase: false) { return i + len }
        let k = c[i]
        if k != .space { return run(c, from: i + 1, of: k) }
        if v[i] == 0x20, i + 1 < v.count, c[i + 1] != .space { return run(c, from: i + 1, of: c[i + 1]) }
        return spaceMatch(c, i)
    }

    /// The Llama 3 / Qwen2 pattern at `i` (numbers in runs of at most `maxDigits`).
    static func tiktokenMatch(_ v: Scalars, _ c: Classes, _ i: Int, maxDigits: Int) -> Int {
        let n = v.count
        if v[i] == 0x27, let len = contraction(v, i, ignoringCase: true) { return i + len }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c[i] == .letter { return run(c, from: i + 1, of: .letter) }
        if c[i] != .number, !isNewline(v[i]), i + 1 < n, c[i + 1] == .letter { return run(c, from: i + 2, of: .letter) }
        // \p{N}{1,3}
        if c[i] == .number { return min(run(c, from: i, of: .number), i + maxDigits) }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        let s = v[i] == 0x20 ? i + 1 : i
        if s < n, c[s] == .other {
            var j = run(c, from: s + 1, of: .other)
            while j < n && isNewline(v[j]) { j += 1 }
            return j
        }
        // \s*[\r\n]+ : up to the last line break of the whitespace run.
        let j = run(c, from: i, of: .space)
        if let last = (i..<j).last(where: { isNewline(v[$0]) }) { return last + 1 }
        return spaceMatch(c, i)
    }

    @inline(__always)
    static func isNewline(_ v: UInt32) -> Bool { v == 0x0A || v == 0x0D }

    /// Length of an English contraction (`'s 't 're 've 'm 'll 'd`) at `i`, or nil. Ignoring
    /// case follows Unicode case folding as Oniguruma does (`ſ` folds to `s`).
    static func contraction(_ v: Scalars, _ i: Int, ignoringCase: Bool) -> Int? {
        guard i + 1 < v.count else { return nil }
        func lower(_ x: UInt32) -> UInt32 {
            guard ignoringCase else { return x }
            if x == 0x17F { return 0x73 }                       // ſ → s
            return (0x41...0x5A).contains(x) ? x + 32 : x
        }
        let a = lower(v[i + 1]), b = i + 2 < v.count ? lower(v[i + 2]) : 0
        switch a {
        case 0x73, 0x74, 0x6D, 0x64: return 2                  // s t m d
        case 0x72, 0x76: return b == 0x65 ? 3 : nil            // re ve
        case 0x6C: return b == 0x6C ? 3 : nil                  // ll
        default: return nil
        }
    }
}
