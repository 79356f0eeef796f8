import BTXStore
import Foundation

/// How a file's text splits into documents.
public enum DocumentFormat: Equatable, Sendable {
    /// The whole file is one document (source code, articles).
    case text
    /// Each non-empty line is a document.
    case lines
    /// Blank-line-separated entries are documents.
    case paragraphs
    /// JSON Lines: each line an object whose `field` holds the document text.
    case jsonl(field: String)
    /// A dictd dictionary (`NAME.dict[.dz]` with `NAME.index` beside it): each entry a document.
    case dictd

    /// The format named `name` ("text", "lines", "paragraphs", "jsonl", "dictd"); `textField`
    /// names the JSON field for jsonl (default "text").
    public init(name: String, textField: String? = nil) throws {
        switch name {
        case "text": self = .text
        case "lines": self = .lines
        case "paragraphs": self = .paragraphs
        case "jsonl": self = .jsonl(field: textField ?? "text")
        case "dictd": self = .dictd
        default: throw CorpusError.unknownFormat(name)
        }
    }

    /// Appends the documents of one file (already decompressed to `content`) to `out`.
    public func split(_ content: Data, path: String, into out: inout DocumentCollection) throws {
        switch self {
        case .text:
            if !content.isEmpty { out.append(content) }
        case .lines:
            for line in content.split(separator: UInt8(ascii: "\n")) where !isBlank(line) { out.append(Data(line)) }
        case .paragraphs:
            try splitParagraphs(content, into: &out)
        case let .jsonl(field):
            try splitJSONLines(content, field: field, path: path, into: &out)
        case .dictd:
            try DictdIndex(path: DictdIndex.indexPath(forDictionary: path)).split(content, into: &out)
        }
    }

    private func isBlank(_ bytes: Data.SubSequence) -> Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    private func splitParagraphs(_ content: Data, into out: inout DocumentCollection) throws {
        var current = Data()
        for line in content.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if isBlank(line) {
                if !current.isEmpty { out.append(current); current = Data() }
            } else {
                current.append(line)
                current.append(UInt8(ascii: "\n"))
            }
        }
        if !current.isEmpty { out.append(current) }
    }

    private func splitJSONLines(_ content: Data, field: String, path: String, into out: inout DocumentCollection) throws {
        var number = 0
        for line in content.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if isBlank(line) { continue }
            let value: JSONValue
            do { value = try JSONValue.parse(Data(line)) } catch {
                throw CorpusError.badJSONLine(path: path, line: number, why: "not valid JSON")
            }
            guard let text = value[field]?.stringValue else {
                throw CorpusError.badJSONLine(path: path, line: number, why: "expected a string field \"\(field)\"")
            }
            if !text.isEmpty { out.append(Data(text.utf8)) }
        }
    }
}
