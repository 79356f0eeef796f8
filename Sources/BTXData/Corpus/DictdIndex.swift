import Foundation

/// A dictd `.index` file: one line per headword, `headword TAB offset TAB length`, the numbers in
/// dictd's base64 digits (A–Z a–z 0–9 + /, most significant first), pointing into the `.dict` text.
struct DictdIndex {
    /// (offset, length) of each distinct entry, in text order.
    let entries: [(offset: Int, length: Int)]
    /// Where the index came from, for messages.
    let path: String

    /// `/x/foldoc.dict.dz` → `/x/foldoc.index`.
    static func indexPath(forDictionary path: String) -> String {
        var base = Compression.strippedName(path)
        if base.hasSuffix(".dict") { base = String(base.dropLast(5)) }
        return base + ".index"
    }

    init(path: String) throws {
        try self.init(text: try Data(contentsOf: URL(fileURLWithPath: path)), path: path)
    }

    /// Parses index text; headwords `00-database-*` / `00database*` (dictd metadata) are left out,
    /// and headwords sharing one entry give it once.
    init(text: Data, path: String) throws {
        var seen = Set<Int>()
        var entries: [(offset: Int, length: Int)] = []
        var number = 0
        for line in text.split(separator: UInt8(ascii: "\n")) {
            number += 1
            let fields = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
            guard fields.count >= 3, let offset = DictdIndex.number(fields[1]), let length = DictdIndex.number(fields[2]) else {
                throw CorpusError.badDictIndex(path: path, line: number, why: "malformed line")
            }
            let head = String(decoding: fields[0], as: UTF8.self)
            if head.hasPrefix("00-database") || head.hasPrefix("00database") { continue }
            if seen.insert(offset).inserted { entries.append((offset, length)) }
        }
        self.entries = entries.sorted { $0.offset < $1.offset }
        self.path = path
    }

    private static func number(_ digits: Data.SubSequence) -> Int? {
        guard !digits.isEmpty, digits.count <= 10 else { return nil }
        var v = 0
        for c in digits {
            let d: Int
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): d = Int(c) - 65
            case UInt8(ascii: "a")...UInt8(ascii: "z"): d = Int(c) - 97 + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int(c) - 48 + 52
            case UInt8(ascii: "+"): d = 62
            case UInt8(ascii: "/"): d = 63
            default: return nil
            }
            v = v * 64 + d
        }
        return v
    }

    /// Appends each entry of the dictionary text, cleaned: leading indentation removed per line,
    /// FOLDOC's `{cross reference}` braces dropped, runs of blank lines collapsed.
    func split(_ text: Data, into out: inout DocumentCollection) throws {
        var cleaned: [UInt8] = []
        try text.withUnsafeBytes { all in
            for (i, e) in entries.enumerated() {
                guard e.offset + e.length <= all.count else {
                    throw CorpusError.badDictIndex(path: path, line: i + 1, why: "entry at \(e.offset)+\(e.length) runs past the \(all.count)-byte text")
                }
                cleaned.removeAll(keepingCapacity: true)
                DictdIndex.clean(UnsafeRawBufferPointer(rebasing: all[e.offset..<(e.offset + e.length)]), into: &cleaned)
                if !cleaned.isEmpty { cleaned.withUnsafeBytes { out.append($0) } }
            }
        }
    }

    /// One entry, cleaned (a byte loop: WordNet alone has 150k entries).
    static func clean(_ entry: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var atLineStart = true, lineHasText = false, pendingBlank = false
        for b in entry {
            switch b {
            case UInt8(ascii: "\n"):
                if lineHasText { out.append(b) } else if !out.isEmpty { pendingBlank = true }
                atLineStart = true
                lineHasText = false
            case 0x20 where atLineStart, 0x09 where atLineStart:
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "}"):
                continue
            default:
                if !lineHasText && pendingBlank { out.append(UInt8(ascii: "\n")) }
                pendingBlank = false
                atLineStart = false
                lineHasText = true
                out.append(b)
            }
        }
        if lineHasText { out.append(UInt8(ascii: "\n")) }
    }
}
