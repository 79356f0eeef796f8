/// The character classes of the pre-tokenizer regexes (GPT-2, Llama 3, Qwen2): `\p{L}`, `\p{N}`,
/// `\s` and everything else, as Oniguruma (the regex engine of Hugging Face `tokenizers`) defines
/// them for Unicode text: letters are general categories L*, numbers N*, whitespace is the
/// White_Space property (so NBSP and U+3000 are spaces, combining marks are "other").
enum ScalarClass: UInt8 {
    case letter, number, space, other

    /// Classes of the 128 ASCII scalars (the common case, one table load).
    static let ascii: [ScalarClass] = (0..<128).map { classify(UInt32($0)) }

    /// The class of one scalar value.
    @inline(__always)
    static func of(_ v: UInt32) -> ScalarClass { v < 128 ? ascii[Int(v)] : classify(v) }

    private static func classify(_ v: UInt32) -> ScalarClass {
        guard let s = Unicode.Scalar(v) else { return .other }
        if s.properties.isWhitespace { return .space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }
}

/// Text as Unicode scalars with their classes, the form every pre-tokenizer works on.
struct ScalarText {
    /// The scalar values.
    var scalars: [UInt32]
    /// `ScalarClass.of` each scalar.
    var classes: [ScalarClass]

    /// Scalars of valid UTF-8 `bytes`; `offsets`, when asked for, gets each scalar's byte offset
    /// (plus the total length at the end).
    init(utf8 bytes: UnsafeRawBufferPointer, offsets: UnsafeMutablePointer<[Int]>? = nil) {
        var scalars: [UInt32] = [], classes: [ScalarClass] = []
        scalars.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        offsets?.pointee.removeAll(keepingCapacity: true)
        var i = 0
        let n = bytes.count
        while i < n {
            let b = UInt32(bytes[i])
            var v = b, len = 1
            if b >= 0xF0, i + 3 < n {
                v = (b & 0x07) << 18 | (UInt32(bytes[i + 1]) & 0x3F) << 12 | (UInt32(bytes[i + 2]) & 0x3F) << 6 | (UInt32(bytes[i + 3]) & 0x3F)
                len = 4
            } else if b >= 0xE0, i + 2 < n {
                v = (b & 0x0F) << 12 | (UInt32(bytes[i + 1]) & 0x3F) << 6 | (UInt32(bytes[i + 2]) & 0x3F)
                len = 3
            } else if b >= 0xC0, i + 1 < n {
                v = (b & 0x1F) << 6 | (UInt32(bytes[i + 1]) & 0x3F)
                len = 2
            }
            offsets?.pointee.append(i)
            scalars.append(v)
            classes.append(ScalarClass.of(v))
            i += len
        }
        offsets?.pointee.append(n)
        self.scalars = scalars
        self.classes = classes
    }

    /// The given scalars.
    init(scalars: [UInt32]) {
        self.scalars = scalars
        classes = scalars.map(ScalarClass.of)
    }

    /// Number of scalars.
    var count: Int { scalars.count }

    /// The UTF-8 bytes of `scalars[range]`.
    func utf8(_ range: Range<Int>) -> [UInt8] { Self.utf8(scalars[range]) }

    /// The UTF-8 bytes of scalar values.
    static func utf8<S: Sequence>(_ scalars: S) -> [UInt8] where S.Element == UInt32 {
        var out: [UInt8] = []
        for v in scalars {
            if v < 0x80 { out.append(UInt8(v)) }
            else if v < 0x800 { out += [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)] }
            else if v < 0x10000 { out += [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)] }
            else { out += [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)] }
        }
        return out
    }

    /// `bytes` if they are valid UTF-8, else with every maximal invalid subsequence replaced by
    /// U+FFFD — what Python's `bytes.decode("utf-8", "replace")` gives, i.e. the text the
    /// `tokenizers` package is handed.
    static func validUTF8(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        if isValidUTF8(bytes) { return nil }
        return Array(String(decoding: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self).utf8)
    }

    /// Whether `bytes` are well-formed UTF-8 (Unicode Table 3-7: no overlongs, surrogates or values
    /// above U+10FFFF), checked without going through String (whose generic validation is slow here).
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        var i = 0
        @inline(__always) func continuation(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool { k < n && range.contains(bytes[k]) }
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            switch b {
            case 0xC2...0xDF: guard continuation(i + 1) else { return false }; i += 2
            case 0xE0: guard continuation(i + 1, 0xA0...0xBF), continuation(i + 2) else { return false }; i += 3
            case 0xE1...0xEC, 0xEE...0xEF: guard continuation(i + 1), continuation(i + 2) else { return false }; i += 3
            case 0xED: guard continuation(i + 1, 0x80...0x9F), continuation(i + 2) else { return false }; i += 3
            case 0xF0: guard continuation(i + 1, 0x90...0xBF), continuation(i + 2), continuation(i + 3) else { return false }; i += 4
            case 0xF1...0xF3: guard continuation(i + 1), continuation(i + 2), continuation(i + 3) else { return false }; i += 4
            case 0xF4: guard continuation(i + 1, 0x80...0x8F), continuation(i + 2), continuation(i + 3) else { return false }; i += 4
            default: return false
            }
        }
        return true
    }
}
