import Foundation

/// The JSON header of a safetensors file (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length, the header, then the data section that tensors index by
/// `data_offsets` (relative to the data section's start).
struct SafetensorsHeader: Equatable {
    /// One tensor of the file.
    struct Tensor: Equatable {
        var name: String
        var dtype: ElementType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// Tensors in data order.
    var tensors: [Tensor]
    /// The optional `__metadata__` string map.
    var metadata: [String: String]
    /// Bytes before the data section (8 + header length).
    var dataStart: Int

    /// HF's dtype names for ours.
    static let dtypeNames: [ElementType: String] = [.f32: "F32", .bf16: "BF16", .f16: "F16", .i32: "I32",
                                                    .u16: "U16", .u32: "U32", .u8: "U8"]
    /// Largest header accepted (HF's limit), so a damaged length cannot make us read gigabytes.
    static let maxHeaderLength = 100_000_000

    /// Parses and validates the header of `file`, whose total size is `fileSize`.
    init(reading file: FileDescriptor, fileSize: Int, name: String) throws {
        func bad(_ problem: String) -> SafetensorsError { .malformed(file: name, problem: problem) }
        var lengthField: UInt64 = 0
        guard fileSize >= 8, try withUnsafeMutableBytes(of: &lengthField, { try file.read(into: $0, at: 0) }) == 8 else {
            throw bad("shorter than the 8-byte header length")
        }
        let length = UInt64(littleEndian: lengthField)
        guard length >= 2, length <= UInt64(SafetensorsHeader.maxHeaderLength) else {
            throw bad("header length \(length) outside 2...\(SafetensorsHeader.maxHeaderLength)")
        }
        guard Int(length) <= fileSize - 8 else { throw bad("header length \(length) runs past the end of the file (\(fileSize) bytes)") }
        var text = Data(count: Int(length))
        _ = try text.withUnsafeMutableBytes { try file.read(into: $0, at: 8) }
        try self.init(json: text, dataSize: fileSize - 8 - Int(length), name: name)
        dataStart = 8 + Int(length)
    }

    /// Parses and validates header JSON for a data section of `dataSize` bytes.
    init(json: Data, dataSize: Int, name: String) throws {
        func bad(_ problem: String) -> SafetensorsError { .malformed(file: name, problem: problem) }
        let keys: [String]
        do { keys = try JSONObjectKeys.topLevel(json) } catch { throw bad("header is not a JSON object: \(error)") }
        var seen = Set<String>()
        if let duplicate = keys.first(where: { !seen.insert($0).inserted }) { throw bad("duplicate tensor name \"\(duplicate)\"") }
        guard case .object(let entries)? = try? JSONValue.parse(json) else { throw bad("header is not valid JSON") }
        metadata = [:]
        tensors = []
        dataStart = 0
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            if key == "__metadata__" {
                guard case .object(let map) = value else { throw bad("__metadata__ is not an object") }
                for (k, v) in map {
                    guard let s = v.stringValue else { throw bad("__metadata__[\"\(k)\"] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            tensors.append(try SafetensorsHeader.tensor(key, value, dataSize: dataSize, bad: bad))
        }
        tensors.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        for (a, b) in zip(tensors, tensors.dropFirst()) where b.begin < a.end {
            throw bad("tensors \"\(a.name)\" [\(a.begin), \(a.end)) and \"\(b.name)\" [\(b.begin), \(b.end)) overlap")
        }
    }

    private static func tensor(_ name: String, _ value: JSONValue, dataSize: Int,
                               bad: (String) -> SafetensorsError) throws -> Tensor {
        guard let dtypeName = value["dtype"]?.stringValue else { throw bad("tensor \"\(name)\" has no string dtype") }
        guard let dtype = dtypeNames.first(where: { $0.value == dtypeName })?.key else {
            throw bad("tensor \"\(name)\" has unknown or unsupported dtype \(dtypeName) (supported: F32 BF16 F16 I32 U16 U32 U8)")
        }
        guard let shapeValues = value["shape"]?.arrayValue else { throw bad("tensor \"\(name)\" has no shape array") }
        let shape = shapeValues.compactMap(\.intValue)
        guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw bad("tensor \"\(name)\" shape must be non-negative integers")
        }
        guard let offsets = value["data_offsets"]?.arrayValue?.compactMap(\.intValue), offsets.count == 2 else {
            throw bad("tensor \"\(name)\" needs data_offsets [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw bad("tensor \"\(name)\" data_offsets [\(begin), \(end)) outside the data section of \(dataSize) bytes")
        }
        var bytes = dtype.size
        for d in shape {
            let (p, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard !overflow else { throw bad("tensor \"\(name)\" shape \(shape) overflows") }
            bytes = p
        }
        guard bytes == end - begin else {
            throw bad("tensor \"\(name)\" shape \(shape) × \(dtypeName) is \(bytes) bytes but data_offsets span \(end - begin)")
        }
        return Tensor(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    init(tensors: [Tensor], metadata: [String: String]) {
        self.tensors = tensors
        self.metadata = metadata
        dataStart = 0
    }

    /// The header bytes as HF writes them: `__metadata__` first, tensors in data order, padded with
    /// spaces to a multiple of 8 so the data section is aligned; preceded by the length field.
    func encoded() -> Data {
        var parts: [String] = []
        if !metadata.isEmpty { parts.append("\"__metadata__\":" + JSONValue.object(metadata.mapValues { .string($0) }).canonicalText) }
        for t in tensors {
            // NOTE: HF's key order (dtype, shape, data_offsets), not sorted: files then match HF's byte for byte.
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append(JSONValue.string(t.name).canonicalText + ":{\"dtype\":\"\(SafetensorsHeader.dtypeNames[t.dtype]!)\","
                         + "\"shape\":[\(shape)],\"data_offsets\":[\(t.begin),\(t.end)]}")
        }
        var json = Data(("{" + parts.joined(separator: ",") + "}").utf8)
        while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json
    }
}
