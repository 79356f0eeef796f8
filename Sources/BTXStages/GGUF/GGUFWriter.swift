import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A GGUF v3 file written in one streaming pass (layout in `GGUFFormat.swift`): the header,
/// metadata and tensor infos first (every offset is known from the shapes and types), then each
/// tensor in turn, padded to the alignment. Nothing but the tensor being written is in memory.
///
/// The file is written to a temporary name beside `url`, fsynced and renamed, so it appears whole
/// or not at all.
struct GGUFWriter {
    /// One tensor to write: its GGUF name, row-major shape (btxpipe's order) and ggml type.
    struct Tensor: Equatable {
        var name: String
        var shape: [Int]
        var type: GGMLType
    }

    /// Metadata in file order (`general.alignment` is added when the alignment is not 32).
    let metadata: [(key: String, value: GGUFValue)]
    /// The tensors with their data offsets.
    let infos: [GGUFTensorInfo]
    let alignment: Int

    /// Lays out `tensors`; throws when a shape does not fit its type (e.g. a row not whole q8_0 blocks).
    init(metadata: [(key: String, value: GGUFValue)], tensors: [Tensor], alignment: Int = GGUF.defaultAlignment) throws {
        precondition(alignment > 0 && alignment % 8 == 0, "alignment \(alignment) is not a positive multiple of 8")
        var metadata = metadata
        if alignment != GGUF.defaultAlignment { metadata.append(("general.alignment", .uint32(UInt32(alignment)))) }
        var offset = 0
        var infos: [GGUFTensorInfo] = []
        for t in tensors {
            guard let bytes = Self.byteCount(t) else {
                throw GGUFExportError.badTensor(name: t.name, problem: "shape \(t.shape) cannot be stored as \(t.type.name) (rows must be whole blocks of \(t.type.blockSize ?? 0))")
            }
            infos.append(GGUFTensorInfo(name: t.name, shape: t.shape, type: t.type, offset: offset))
            offset = Self.padded(offset + bytes, alignment)
        }
        self.metadata = metadata
        self.infos = infos
        self.alignment = alignment
    }

    /// Bytes of a tensor's data (its rows, the last dimension, must be whole blocks), or nil.
    static func byteCount(_ t: Tensor) -> Int? {
        guard let block = t.type.blockSize, let row = t.shape.last, row % block == 0, t.shape.allSatisfy({ $0 > 0 }) else { return nil }
        return t.type.byteCount(elements: t.shape.reduce(1, *))
    }

    static func padded(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Writes the file. `data(i, sink)` must pass tensor i's bytes to `sink`, in order, in any
    /// number of pieces adding up to exactly its size.
    func write(to url: URL, data: (Int, (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let directory = url.deletingLastPathComponent().path
        let temp = directory + "/.tmp-" + UUID().uuidString + "-" + url.lastPathComponent
        let out = try GGUFOutput(path: temp)
        do {
            try out.write(header())
            for (i, info) in infos.enumerated() {
                var written = 0
                try data(i) { bytes in
                    written += bytes.count
                    try out.write(bytes)
                }
                let expected = info.type.byteCount(elements: info.elementCount) ?? -1
                guard written == expected else {
                    throw GGUFExportError.badTensor(name: info.name, problem: "\(written) bytes written, \(expected) expected")
                }
                try out.write(Data(count: Self.padded(expected, alignment) - expected))
            }
            try out.finish()
        } catch {
            unlink(temp)
            throw error
        }
        guard rename(temp, url.path) == 0 else {
            let code = errno
            unlink(temp)
            throw GGUFExportError.io(path: url.path, problem: String(cString: strerror(code)))
        }
    }

    /// Everything before the data section, padded to the alignment.
    func header() -> Data {
        var out = Data()
        out.appendLE(GGUF.magic)
        out.appendLE(GGUF.writtenVersion)
        out.appendLE(UInt64(infos.count))
        out.appendLE(UInt64(metadata.count))
        for (key, value) in metadata {
            out.appendGGUFString(key)
            out.appendLE(value.type.rawValue)
            out.appendGGUFValue(value)
        }
        for info in infos {
            out.appendGGUFString(info.name)
            out.appendLE(UInt32(info.shape.count))
            for d in info.shape.reversed() { out.appendLE(UInt64(d)) }   // ne0 first: the row length
            out.appendLE(info.type.rawValue)
            out.appendLE(UInt64(info.offset))
        }
        out.append(Data(count: Self.padded(out.count, alignment) - out.count))
        return out
    }
}

/// A buffered, fsynced output file for `GGUFWriter`.
private final class GGUFOutput {
    let path: String
    let fd: Int32
    var buffer = Data()
    static let flushBytes = 1 << 20

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw GGUFExportError.io(path: path, problem: String(cString: strerror(errno))) }
    }

    deinit { close(fd) }

    func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushBytes { try flush() }
    }

    func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; throw GGUFExportError.io(path: path, problem: String(cString: strerror(errno))) }
                done += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and fsyncs.
    func finish() throws {
        try flush()
        guard fsync(fd) == 0 else { throw GGUFExportError.io(path: path, problem: String(cString: strerror(errno))) }
    }
}

fileprivate extension Data {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendGGUFString(_ s: String) {
        appendLE(UInt64(s.utf8.count))
        append(contentsOf: s.utf8)
    }

    /// A metadata value's bytes (without its type tag; arrays carry their element type and count).
    mutating func appendGGUFValue(_ value: GGUFValue) {
        switch value {
        case let .uint8(v): appendLE(v)
        case let .int8(v): appendLE(v)
        case let .uint16(v): appendLE(v)
        case let .int16(v): appendLE(v)
        case let .uint32(v): appendLE(v)
        case let .int32(v): appendLE(v)
        case let .uint64(v): appendLE(v)
        case let .int64(v): appendLE(v)
        case let .float32(v): appendLE(v.bitPattern)
        case let .float64(v): appendLE(v.bitPattern)
        case let .bool(v): appendLE(UInt8(v ? 1 : 0))
        case let .string(s): appendGGUFString(s)
        case let .array(type, elements):
            appendLE(type.rawValue)
            appendLE(UInt64(elements.count))
            for e in elements {
                precondition(e.type == type, "GGUF array of \(type) holds a \(e.type)")
                appendGGUFValue(e)
            }
        }
    }
}
