/// GPT-2-style pre-tokenisation written by hand over bytes, so BPE merges stay inside words.
///
/// It follows GPT-2's pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// with byte classes instead of Unicode ones: ASCII letters and every byte ≥ 0x80 count as
/// letters (so multi-byte UTF-8 characters, and invalid bytes, stay whole), ASCII digits as
/// numbers, space/tab/newline/CR/VT/FF as whitespace, the rest as punctuation.
/// NOTE: for pure-ASCII text this is exactly GPT-2's split; non-ASCII punctuation and spaces
/// are grouped with letters here, where a Unicode regex would split them off.
enum PreTokenizer {
    enum ByteClass: UInt8 { case letter, digit, space, other }

    static let classes: [ByteClass] = (0..<256).map { b -> ByteClass in
        switch UInt8(b) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x80...0xFF: return .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .digit
        case 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D: return .space
        default: return .other
        }
    }

    /// Calls `body(start, end)` for each pre-token of `bytes`, in order; the pieces tile the input.
    @inline(__always)
    static func split(_ bytes: UnsafeRawBufferPointer, _ body: (Int, Int) throws -> Void) rethrows {
        let n = bytes.count
        var i = 0
        try classes.withUnsafeBufferPointer { cls in
            @inline(__always) func run(from j: Int, of c: ByteClass) -> Int {
                var k = j
                while k < n && cls[Int(bytes[k])] == c { k += 1 }
                return k
            }
            while i < n {
                let b = bytes[i]
                if b == UInt8(ascii: "'"), let len = contractionLength(bytes, i) {
                    try body(i, i + len)
                    i += len
                    continue
                }
                let c = cls[Int(b)]
                if c == .space {
                    let j = run(from: i, of: .space)
                    // `\s+(?!\S)`: leave the last whitespace byte for what follows.
                    if j < n && j - i > 1 {
                        try body(i, j - 1)
                        i = j - 1
                        continue
                    }
                    if j < n && b == 0x20 {
                        // ` ?X+`: a single space joins the next letter/digit/punctuation run.
                        let next = cls[Int(bytes[i + 1])]
                        let end = run(from: i + 1, of: next)
                        try body(i, end)
                        i = end
                        continue
                    }
                    try body(i, j)
                    i = j
                    continue
                }
                let end = run(from: i + 1, of: c)
                try body(i, end)
                i = end
            }
        }
    }

    /// Length of an English contraction suffix at `i` (`'s 't 're 've 'm 'll 'd`), or nil.
    @inline(__always)
    private static func contractionLength(_ bytes: UnsafeRawBufferPointer, _ i: Int) -> Int? {
        let n = bytes.count
        guard i + 1 < n else { return nil }
        switch bytes[i + 1] {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return i + 2 < n && bytes[i + 2] == UInt8(ascii: "e") ? 3 : nil
        case UInt8(ascii: "l"):
            return i + 2 < n && bytes[i + 2] == UInt8(ascii: "l") ? 3 : nil
        default: return nil
        }
    }
}
