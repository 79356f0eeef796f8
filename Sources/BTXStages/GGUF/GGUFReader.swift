import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An open GGUF file (v2 or v3): its metadata and tensor directory parsed and checked against the
/// file size up front, its tensor data read one tensor at a time on request.
///
/// Layout: GGUFFormat.swift. Checks: every count, string length, dimension, offset and byte size is
/// bounded by the bytes actually in the file (so a hostile header cannot make btxpipe allocate more
/// than the file holds), tensor names and metadata keys are unique, tensor data is aligned and lies
/// inside the data section, and a tensor's row length is whole blocks of its type.
final class GGUFReader {
    let path: String
    let version: UInt32
    /// Metadata keys in file order (`metadata` holds the values).
    let keys: [String]
    let metadata: [String: GGUFValue]
    /// Tensors in file order.
    let tensors: [GGUFTensorInfo]
    /// `general.alignment`, or 32.
    let alignment: Int
    /// Offset of the data section in the file.
    let dataStart: Int
    let fileSize: Int
    private let file: Int32

    /// Sanity caps beyond the file-size bounds: ggml's GGML_MAX_DIMS, and llama.cpp's own limits.
    static let maxDimensions = 4
    static let maxNameBytes = 1024

    /// Everything the header says, parsed before the reader exists (so a throw never leaves a
    /// half-made reader whose deinit would close the file twice).
    private struct Header {
        var version: UInt32 = 0
        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        var tensors: [GGUFTensorInfo] = []
        var alignment = GGUF.defaultAlignment
        var dataStart = 0
    }

    /// Opens and parses `path`; throws a `GGUFError` naming the first bad field.
    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GGUFError.io(file: path, problem: "cannot open: \(String(cString: strerror(errno)))") }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw GGUFError.io(file: path, problem: "not a regular file")
        }
        let header: Header
        do {
            var cursor = GGUFFileCursor(file: fd, path: path, fileSize: Int(status.st_size))
            header = try GGUFReader.readHeader(&cursor)
        } catch {
            close(fd)
            throw error
        }
        self.path = path
        file = fd
        fileSize = Int(status.st_size)
        version = header.version
        keys = header.keys
        metadata = header.metadata
        tensors = header.tensors
        alignment = header.alignment
        dataStart = header.dataStart
    }

    private static func readHeader(_ cursor: inout GGUFFileCursor) throws -> Header {
        var header = Header()
        header.version = try readPreamble(&cursor)
        let tensorCount = try cursor.count(field: "tensor_count", minimumBytes: 8 + 4 + 8 + 4 + 8)
        let metadataCount = try cursor.count(field: "metadata_kv_count", minimumBytes: 8 + 4 + 1)
        (header.keys, header.metadata) = try readMetadata(&cursor, count: metadataCount)
        header.alignment = try alignment(header.metadata, cursor: cursor)
        var names = Set<String>()
        for index in 0..<tensorCount {
            let info = try readTensorInfo(&cursor, index: index)
            guard names.insert(info.name).inserted else { throw cursor.malformed("tensor \(info.name)", "appears twice") }
            header.tensors.append(info)
        }
        let start = (cursor.position + header.alignment - 1) / header.alignment * header.alignment
        header.dataStart = min(start, cursor.fileSize)
        try checkTensorData(header, cursor: cursor)
        return header
    }

    deinit { close(file) }

    /// Magic and version.
    private static func readPreamble(_ cursor: inout GGUFFileCursor) throws -> UInt32 {
        let magic = try cursor.integer(UInt32.self, field: "magic")
        guard magic == GGUF.magic else {
            throw cursor.malformed("magic", String(format: "0x%08x is not \"GGUF\" (0x%08x): not a GGUF file", magic, GGUF.magic))
        }
        let version = try cursor.integer(UInt32.self, field: "version")
        guard GGUF.readableVersions.contains(version) else {
            throw GGUFError.unsupported(file: cursor.path, field: "version",
                                        feature: "GGUF version \(version) (btxpipe reads versions 2 and 3)")
        }
        return version
    }

    private static func readMetadata(_ cursor: inout GGUFFileCursor, count: Int) throws -> ([String], [String: GGUFValue]) {
        var keys: [String] = []
        var values: [String: GGUFValue] = [:]
        for index in 0..<count {
            let key = try cursor.string(field: "metadata key #\(index)")
            guard values[key] == nil else { throw cursor.malformed("metadata \(key)", "key appears twice") }
            let rawType = try cursor.integer(UInt32.self, field: "metadata \(key)")
            values[key] = try readValue(&cursor, rawType: rawType, field: "metadata \(key)", inArray: false)
            keys.append(key)
        }
        return (keys, values)
    }

    /// Bytes the smallest value of a type takes (to bound an array's count by the file size).
    private static func minimumSize(_ type: GGUFValueType) -> Int {
        switch type {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }

    private static func readValue(_ cursor: inout GGUFFileCursor, rawType: UInt32, field: String, inArray: Bool) throws -> GGUFValue {
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw cursor.malformed(field, "unknown value type \(rawType) (expected 0...12)")
        }
        switch type {
        case .uint8: return .uint8(try cursor.integer(UInt8.self, field: field))
        case .int8: return .int8(try cursor.integer(Int8.self, field: field))
        case .uint16: return .uint16(try cursor.integer(UInt16.self, field: field))
        case .int16: return .int16(try cursor.integer(Int16.self, field: field))
        case .uint32: return .uint32(try cursor.integer(UInt32.self, field: field))
        case .int32: return .int32(try cursor.integer(Int32.self, field: field))
        case .uint64: return .uint64(try cursor.integer(UInt64.self, field: field))
        case .int64: return .int64(try cursor.integer(Int64.self, field: field))
        case .float32: return .float32(Float(bitPattern: try cursor.integer(UInt32.self, field: field)))
        case .float64: return .float64(Double(bitPattern: try cursor.integer(UInt64.self, field: field)))
        case .bool:
            let byte = try cursor.integer(UInt8.self, field: field)
            guard byte <= 1 else { throw cursor.malformed(field, "bool byte \(byte) is neither 0 nor 1") }
            return .bool(byte == 1)
        case .string: return .string(try cursor.string(field: field))
        case .array:
            guard !inArray else { throw GGUFError.unsupported(file: cursor.path, field: field, feature: "an array of arrays") }
            let elementRaw = try cursor.integer(UInt32.self, field: field)
            guard let elementType = GGUFValueType(rawValue: elementRaw) else {
                throw cursor.malformed(field, "unknown array element type \(elementRaw) (expected 0...12)")
            }
            let count = try cursor.count(field: field, minimumBytes: minimumSize(elementType))
            var elements: [GGUFValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count {
                elements.append(try readValue(&cursor, rawType: elementRaw, field: field, inArray: true))
            }
            return .array(elementType, elements)
        }
    }

    /// `general.alignment`: a u32 power of two (default 32).
    private static func alignment(_ metadata: [String: GGUFValue], cursor: GGUFFileCursor) throws -> Int {
        guard let value = metadata["general.alignment"] else { return GGUF.defaultAlignment }
        guard case let .uint32(a) = value, a > 0, a & (a - 1) == 0 else {
            throw cursor.malformed("metadata general.alignment", "expected a u32 power of two, found \(value)")
        }
        return Int(a)
    }

    private static func readTensorInfo(_ cursor: inout GGUFFileCursor, index: Int) throws -> GGUFTensorInfo {
        let name = try cursor.string(field: "tensor #\(index) name")
        let field = "tensor \(name)"
        guard !name.isEmpty, name.utf8.count <= maxNameBytes else {
            throw cursor.malformed(field, "name must be 1...\(maxNameBytes) bytes")
        }
        let dimensions = try cursor.integer(UInt32.self, field: field)
        guard (1...UInt32(maxDimensions)).contains(dimensions) else {
            throw cursor.malformed(field, "n_dims \(dimensions) (expected 1...\(maxDimensions))")
        }
        var ne: [Int] = []
        var elements = 1
        for axis in 0..<Int(dimensions) {
            let d = try cursor.integer(UInt64.self, field: field)
            guard d >= 1, d <= UInt64(Int32.max) else { throw cursor.malformed(field, "dimension ne[\(axis)] = \(d) (expected 1...\(Int32.max))") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(d))
            guard !overflow, product <= cursor.fileSize * 8 else {
                throw cursor.malformed(field, "dimensions \(ne + [Int(d)]) hold more elements than the file could store")
            }
            elements = product
            ne.append(Int(d))
        }
        let rawType = try cursor.integer(UInt32.self, field: field)
        guard let type = GGMLType(rawValue: rawType) else { throw cursor.malformed(field, "unknown ggml type \(rawType)") }
        let offset = try cursor.integer(UInt64.self, field: field)
        guard offset <= UInt64(cursor.fileSize) else {
            throw cursor.malformed(field, "data offset \(offset) is beyond the file's \(cursor.fileSize) bytes")
        }
        if let block = type.blockSize, ne[0] % block != 0 {
            throw cursor.malformed(field, "row length ne[0] = \(ne[0]) is not a multiple of \(type.name)'s block of \(block)")
        }
        return GGUFTensorInfo(name: name, shape: ne.reversed(), type: type, offset: Int(offset))
    }

    /// Every tensor aligned and inside the data section (types btxpipe cannot size are checked on use).
    private static func checkTensorData(_ header: Header, cursor: GGUFFileCursor) throws {
        let dataBytes = cursor.fileSize - header.dataStart
        for tensor in header.tensors {
            let field = "tensor \(tensor.name)"
            guard tensor.offset % header.alignment == 0 else {
                throw cursor.malformed(field, "data offset \(tensor.offset) is not a multiple of the alignment \(header.alignment)")
            }
            guard let bytes = tensor.type.byteCount(elements: tensor.elementCount) else { continue }
            guard tensor.offset <= dataBytes, bytes <= dataBytes - tensor.offset else {
                throw cursor.malformed(field, "data [\(tensor.offset), +\(bytes)) runs past the end of the data section (\(dataBytes) bytes; truncated?)")
            }
        }
    }

    /// The raw bytes of `tensor`'s data (its ggml blocks).
    func data(_ tensor: GGUFTensorInfo) throws -> [UInt8] {
        guard let count = tensor.type.byteCount(elements: tensor.elementCount) else {
            throw GGUFError.unsupported(file: path, field: "tensor \(tensor.name)", feature: "ggml type \(tensor.type.name)")
        }
        let start = dataStart + tensor.offset
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { GGUFFileCursor.readFully(file, $0, at: start) }
        guard read == count else { throw GGUFError.io(file: path, problem: "tensor \(tensor.name): short read (\(read) of \(count) bytes)") }
        return bytes
    }

    /// `tensor` dequantized to f32, row-major in `tensor.shape`.
    func floats(_ tensor: GGUFTensorInfo) throws -> [Float] {
        let bytes = try data(tensor)
        return try GGMLDequantize.floats(bytes, type: tensor.type, count: tensor.elementCount) {
            GGUFError.unsupported(file: path, field: "tensor \(tensor.name)", feature: "ggml type \(tensor.type.name)")
        }
    }
}
