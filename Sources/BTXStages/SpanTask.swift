import BTXPipeline
import BTXStore
import Foundation

/// A downstream task read off held-out text, scored without sampling: every span that follows a
/// marker (`after`) counts as answered when the model's top-1 next token is right at each of the
/// span's tokens, given the true text before it (teacher forcing). One forward pass over the
/// held-out sequences that the loss already scores, so it is cheap, deterministic and the same
/// spans for every model (BTM included). Defaults for the default domains (`defaults`):
/// - code: the identifier after a "." (attribute and method names: `self.items`, `os.path.join`);
/// - knowledge: the part of speech of a WordNet headword (`abet` ⏎ `v 1: assist …`: the line-start
///   word before " 1:", n/v/adj/adv), a lexical fact about the word on the line above. (Copying the
///   headword into `[syn: …]` was at the floor, 0% exact; FOLDOC's `{…}` cross-references lose their
///   braces in the `dictd` format, and its `<subject>` tags are too rare in the sample);
/// - math: the answer after "Answer:" (the worked steps are in context: reading the result off them).
struct SpanTask: Equatable {
    /// Where a span ends.
    enum End: Equatable {
        /// A run of identifier characters ([A-Za-z0-9_], starting with a letter or '_').
        case identifier
        /// The same after any spaces (a word token carries its leading space).
        case word
        /// The rest of the line (up to, not including, "\n").
        case newline
        /// Up to (not including) this text, on the same line.
        case literal([UInt8])
    }

    /// The text before each span.
    var after: [UInt8]
    /// Where the span ends.
    var end: End
    /// What the task is, in words (default: from `after` and `end`).
    var label: String? = nil

    /// What the task asks, for logs and the report ("identifier after '.'").
    var description: String {
        if let label { return label }
        let marker = String(decoding: after, as: UTF8.self).replacingOccurrences(of: "\n", with: "\\n")
        switch end {
        case .identifier: return "identifier after '\(marker)'"
        case .word: return "word after '\(marker)'"
        case .newline: return "rest of the line after '\(marker)'"
        case .literal(let text): return "text between '\(marker)' and '\(String(decoding: text, as: UTF8.self))'"
        }
    }

    /// Longest span in bytes: a longer one (or one whose end is not in the sequence) is not counted.
    static let maxSpanBytes = 64
    /// Stands for a special token (EOS) in the text: no span crosses a document boundary.
    static let boundary: UInt8 = 0

    /// The tasks of the default domains (`downstream`'s default).
    static let defaults: [String: JSONValue] = [
        "code": ["after": ".", "end": "identifier"],
        "knowledge": ["after": "\n", "end": " 1:", "label": "part of speech of a WordNet headword (n/v/adj/adv at the start of the line below it)"],
        "math": ["after": "Answer:", "end": "newline"],
    ]

    /// Param `downstream`: domain → `{after: TEXT, end: identifier|word|newline|TEXT}` (default `defaults`;
    /// `{}` turns the metric off).
    static func tasks(_ p: StageParams) throws -> [String: SpanTask] {
        try p.object("downstream", default: defaults).mapValues { value in
            let label = value["label"]?.stringValue
            guard let after = value["after"]?.stringValue, !after.isEmpty, let end = value["end"]?.stringValue, !end.isEmpty,
                  value.objectValue?.count == (label == nil ? 2 : 3) else {
                throw StageError.badParameter(field: "downstream", expected: "each domain's task as {after: TEXT, end: identifier|word|newline|TEXT, label: TEXT (optional)}",
                                              actual: value.canonicalText)
            }
            let kind: End = ["identifier": .identifier, "word": .word, "newline": .newline][end] ?? .literal(Array(end.utf8))
            return SpanTask(after: Array(after.utf8), end: kind, label: label)
        }
    }

    /// The spans of one batch of B rows of T + 1 tokens: each span as the indices `b·T + t` of the
    /// positions that predict its tokens (position t predicts token t + 1). A span counts only when its
    /// marker and its end both lie in the row and it starts on a token boundary.
    func spans(_ batch: [Int32], batchSize B: Int, sequenceLength T: Int, pieces: [[UInt8]]) -> [[Int]] {
        var out: [[Int]] = []
        var text: [UInt8] = [], starts: [Int] = []
        for b in 0..<B {
            text.removeAll(keepingCapacity: true)
            starts.removeAll(keepingCapacity: true)
            for t in 0...T {
                starts.append(text.count)
                let id = Int(batch[b * (T + 1) + t])
                let piece = id < pieces.count ? pieces[id] : []
                if piece.isEmpty { text.append(Self.boundary) } else { text += piece }
            }
            for (first, last) in spanTokens(text: text, starts: starts) {
                out.append((first...last).map { b * T + $0 - 1 })
            }
        }
        return out
    }

    /// (first, last) token index of every counted span in one row's `text` (token j starts at `starts[j]`).
    func spanTokens(text: [UInt8], starts: [Int]) -> [(Int, Int)] {
        var found: [(Int, Int)] = []
        var i = 0
        while i + after.count <= text.count {
            defer { i += 1 }
            guard text[i] == after[0], Array(text[i..<(i + after.count)]) == after else { continue }
            let spanStart = i + after.count
            guard let spanEnd = self.spanEnd(text, from: spanStart),
                  let first = starts.firstIndex(of: spanStart), first >= 1 else { continue }
            let last = starts.lastIndex { $0 < spanEnd }!
            found.append((first, last))
        }
        return found
    }

    /// The end (exclusive) of the span starting at `start`, nil when it is empty, too long, crosses a
    /// document boundary or is not closed inside the text.
    func spanEnd(_ text: [UInt8], from start: Int) -> Int? {
        let limit = min(text.count, start + Self.maxSpanBytes + max(1, closing.count))
        var j = start
        switch end {
        case .identifier, .word:
            while end == .word, j < limit, text[j] == 0x20 { j += 1 }
            guard j < text.count, Self.isIdentifierStart(text[j]) else { return nil }
            while j < limit, Self.isIdentifier(text[j]) { j += 1 }
            return j < text.count && j - start <= Self.maxSpanBytes ? j : nil  // the next character is seen
        case .newline, .literal:
            while j + closing.count <= limit {
                if text[j] == Self.boundary || (end != .newline && text[j] == UInt8(ascii: "\n")) { return nil }
                if Array(text[j..<(j + closing.count)]) == closing { return j > start && j - start <= Self.maxSpanBytes ? j : nil }
                j += 1
            }
            return nil
        }
    }

    /// The text that closes a `.newline` or `.literal` span.
    private var closing: [UInt8] {
        switch end {
        case .identifier, .word: return []
        case .newline: return [UInt8(ascii: "\n")]
        case .literal(let text): return text
        }
    }

    static func isIdentifierStart(_ c: UInt8) -> Bool { c == UInt8(ascii: "_") || (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    static func isIdentifier(_ c: UInt8) -> Bool { isIdentifierStart(c) || (c >= 0x30 && c <= 0x39) }
}

/// A span task's score on one domain: spans answered exactly (every token top-1) out of those
/// counted, and the span tokens predicted top-1 out of all span tokens (graded: partial answers count).
public struct SpanScore: Equatable, Sendable {
    /// Spans whose every token was the model's top-1, and spans counted.
    public var correct = 0, total = 0
    /// Span tokens that were the model's top-1, and span tokens counted.
    public var tokensCorrect = 0, tokens = 0
    /// correct / total (0 when nothing was counted).
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }
    /// tokensCorrect / tokens (0 when nothing was counted).
    public var tokenAccuracy: Double { tokens == 0 ? 0 : Double(tokensCorrect) / Double(tokens) }

    /// Adds the spans of one scored batch: `top1[i]` says whether position i's top-1 token was the target.
    mutating func add(_ spans: [[Int]], top1: [Bool]) {
        for span in spans {
            let right = span.filter { top1[$0] }.count
            total += 1
            tokens += span.count
            tokensCorrect += right
            if right == span.count { correct += 1 }
        }
    }

    /// `{"correct", "total", "accuracy", "tokens_correct", "tokens", "token_accuracy"}` as the evaluation manifest stores it.
    var json: JSONValue {
        ["correct": .int(Int64(correct)), "total": .int(Int64(total)), "accuracy": .double(accuracy),
         "tokens_correct": .int(Int64(tokensCorrect)), "tokens": .int(Int64(tokens)), "token_accuracy": .double(tokenAccuracy)]
    }
}
