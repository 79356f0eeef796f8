import BTXStore
import Foundation

/// The `normalizer` of a `tokenizer.json`, the kinds btxpipe implements: `NFC` (Qwen2), `Prepend`
/// and `Replace` with a string pattern (legacy Llama 2 / Mistral / TinyLlama: prepend "▁", spaces
/// → "▁"), and `Sequence`s of them. Anything else is refused by name.
indirect enum NormalizerSpec: Equatable, Sendable {
    case nfc
    case prepend([UInt32])
    case replace(pattern: [UInt32], content: [UInt32])
    case sequence([NormalizerSpec])

    /// Parses `json` (the value of field `field`); nil for JSON null.
    static func parse(_ json: JSONValue?, field: String = "normalizer") throws -> NormalizerSpec? {
        guard let json, json != .null else { return nil }
        let type = json["type"]?.stringValue ?? ""
        func string(_ key: String) throws -> [UInt32] {
            guard let s = json[key]?.stringValue else {
                throw TokenizerError.badTokenizerJSON(field: "\(field).\(key)", expected: "a string")
            }
            return s.unicodeScalars.map(\.value)
        }
        switch type {
        case "NFC": return .nfc
        case "Prepend": return .prepend(try string("prepend"))
        case "Replace":
            guard let pattern = json["pattern"]?["String"]?.stringValue, !pattern.isEmpty else {
                throw TokenizerError.unsupported(field: "\(field).pattern", value: "pattern \(json["pattern"]?.canonicalText ?? "null") (only a non-empty {\"String\": …})")
            }
            return .replace(pattern: pattern.unicodeScalars.map(\.value), content: try string("content"))
        case "Sequence":
            guard let list = json["normalizers"]?.arrayValue else {
                throw TokenizerError.badTokenizerJSON(field: "\(field).normalizers", expected: "an array")
            }
            return .sequence(try list.enumerated().map { i, n in try parse(n, field: "\(field).normalizers[\(i)]")! })
        default:
            throw TokenizerError.unsupported(field: "\(field).type", value: "normalizer \"\(type)\"")
        }
    }

    /// `text` normalized.
    func apply(_ text: [UInt32]) -> [UInt32] {
        switch self {
        case .nfc:
            var s = String.UnicodeScalarView()
            for v in text { if let u = Unicode.Scalar(v) { s.append(u) } }
            return String(s).precomposedStringWithCanonicalMapping.unicodeScalars.map(\.value)
        case .prepend(let p):
            return text.isEmpty ? text : p + text
        case .replace(let pattern, let content):
            return Self.replace(text, pattern, content)
        case .sequence(let list):
            return list.reduce(text) { $1.apply($0) }
        }
    }

    /// Every non-overlapping occurrence of `pattern` (left to right) replaced by `content`.
    static func replace(_ text: [UInt32], _ pattern: [UInt32], _ content: [UInt32]) -> [UInt32] {
        if pattern.count == 1 && content.count == 1 { return text.map { $0 == pattern[0] ? content[0] : $0 } }
        var out: [UInt32] = [], i = 0
        out.reserveCapacity(text.count)
        while i < text.count {
            if i + pattern.count <= text.count && text[i..<(i + pattern.count)].elementsEqual(pattern) {
                out += content
                i += pattern.count
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}
