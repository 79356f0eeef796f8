import Foundation

/// Errors of reading corpora and their formats.
public enum CorpusError: Error, CustomStringConvertible {
    case badDocumentPack(String)
    case badJSONLine(path: String, line: Int, why: String)
    case badDictIndex(path: String, line: Int, why: String)
    case noFiles(pattern: String)
    case unknownFormat(String)

    public var description: String {
        switch self {
        case let .badDocumentPack(why): return "document pack is not valid: \(why)"
        case let .badJSONLine(path, line, why): return "\(path):\(line): \(why)"
        case let .badDictIndex(path, line, why): return "\(path):\(line): \(why) (expected 'headword<TAB>base64 offset<TAB>base64 length')"
        case let .noFiles(pattern): return "no files match \(pattern)"
        case let .unknownFormat(f): return "unknown corpus format '\(f)' (expected text, lines, paragraphs, jsonl, dictd)"
        }
    }
}

/// An ordered list of documents (byte strings), stored as one buffer plus end offsets.
///
/// Serialised form (one store object): magic "BTXDOCS" + version byte 1, document count (u64 LE),
/// each document's end offset (u64 LE), then the concatenated bytes.
public struct DocumentCollection: Equatable, Sendable {
    /// All documents back to back.
    public private(set) var bytes = Data()
    /// End offset of each document in `bytes`.
    public private(set) var ends: [Int] = []

    private static let magic = Array("BTXDOCS\u{1}".utf8)

    /// An empty collection.
    public init() {}

    /// Number of documents.
    public var count: Int { ends.count }

    /// Total bytes of text.
    public var byteCount: Int { bytes.count }

    /// Document `i`.
    public subscript(i: Int) -> Data {
        let start = i == 0 ? 0 : ends[i - 1]
        return bytes.subdata(in: (bytes.startIndex + start)..<(bytes.startIndex + ends[i]))
    }

    /// Appends one document.
    public mutating func append(_ document: Data) {
        bytes.append(document)
        ends.append(bytes.count)
    }

    /// Appends one document from raw bytes.
    public mutating func append(_ document: UnsafeRawBufferPointer) {
        bytes.append(document.bindMemory(to: UInt8.self))
        ends.append(bytes.count)
    }

    /// The serialised form.
    public func serialized() -> Data {
        var out = Data(DocumentCollection.magic)
        out.reserveCapacity(16 + 8 * count + bytes.count)
        func put(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt64(count))
        for e in ends { put(UInt64(e)) }
        out.append(bytes)
        return out
    }

    /// Reads the serialised form, checking every offset.
    public init(serialized data: Data) throws {
        let base = data.startIndex
        guard data.count >= 16, Array(data.prefix(8)) == DocumentCollection.magic else {
            throw CorpusError.badDocumentPack("missing magic 'BTXDOCS' version 1")
        }
        func u64(_ at: Int) -> Int {
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(data[base + at + k]) << (8 * UInt64(k)) }
            return Int(truncatingIfNeeded: v)
        }
        let n = u64(8)
        guard n >= 0, n <= (data.count - 16) / 8 else { throw CorpusError.badDocumentPack("document count \(n) does not fit the data") }
        let header = 16 + 8 * n
        var previous = 0
        ends.reserveCapacity(n)
        for i in 0..<n {
            let e = u64(16 + 8 * i)
            guard e >= previous, e <= data.count - header else { throw CorpusError.badDocumentPack("offset \(i) out of order or range") }
            ends.append(e)
            previous = e
        }
        guard previous == data.count - header else { throw CorpusError.badDocumentPack("\(data.count - header - previous) stray bytes after the last document") }
        bytes = data.subdata(in: (base + header)..<data.endIndex)
    }
}

extension DocumentCollection {
    /// At most `maxBytes` of documents, chosen deterministically by content hash (so the sample
    /// spreads over the whole corpus rather than its first files) and kept in corpus order.
    /// A first pick larger than the budget is cut to it, so the result is never empty.
    public func sample(maxBytes: Int) -> DocumentCollection {
        if byteCount <= maxBytes { return self }
        let keys = (0..<count).map { i in self[i].withUnsafeBytes { BPEEncoder.hash($0) } }
        let order = (0..<count).sorted { (keys[$0], $0) < (keys[$1], $1) }
        var chosen = [Bool](repeating: false, count: count)
        var total = 0
        for i in order {
            let size = self[i].count
            if total + size <= maxBytes { chosen[i] = true; total += size }
        }
        var out = DocumentCollection()
        if total == 0, let first = order.first {
            out.append(self[first].prefix(maxBytes))
            return out
        }
        for i in 0..<count where chosen[i] { out.append(self[i]) }
        return out
    }
}
