import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bounds-checked little-endian reader over the front of a file, refilled through a window of
/// `chunk` bytes so that a header of any size streams without reading the tensor data.
///
/// NOTE: every read is checked against the file size *before* anything is allocated, so a hostile
/// count or length ends in a one-line `GGUFError`, never in a huge allocation or a crash.
struct GGUFFileCursor {
    let file: Int32
    let path: String
    let fileSize: Int
    private(set) var position = 0
    private var window: [UInt8] = []
    private var windowStart = 0
    private let chunk = 1 << 20

    init(file: Int32, path: String, fileSize: Int) {
        self.file = file
        self.path = path
        self.fileSize = fileSize
    }

    /// Bytes left between the cursor and the end of the file.
    var remaining: Int { fileSize - position }

    /// An error naming `field` at the cursor.
    func malformed(_ field: String, _ problem: String) -> GGUFError {
        .malformed(file: path, field: field, problem: problem)
    }

    /// Makes `count` bytes at the cursor available in the window; throws when the file ends first.
    private mutating func ensure(_ count: Int, field: String) throws {
        guard count >= 0, count <= remaining else {
            throw malformed(field, "needs \(count) bytes at offset \(position) but the file ends after \(remaining) (truncated?)")
        }
        if position >= windowStart, position + count <= windowStart + window.count { return }
        let size = min(max(count, chunk), remaining)
        window = [UInt8](repeating: 0, count: size)
        let start = position
        let read = window.withUnsafeMutableBytes { GGUFFileCursor.readFully(file, $0, at: start) }
        guard read == size else {
            throw GGUFError.io(file: path, problem: read < 0 ? "read failed: \(String(cString: strerror(Int32(-read))))" : "file shrank while reading")
        }
        windowStart = start
    }

    /// Reads until `buffer` is full or the file ends, from `offset`; returns the bytes read, or
    /// -errno when a read fails.
    static func readFully(_ file: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(file, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 { if errno == EINTR { continue }; return -Int(errno) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads a little-endian integer.
    mutating func integer<T: FixedWidthInteger>(_: T.Type, field: String) throws -> T {
        let size = MemoryLayout<T>.size
        try ensure(size, field: field)
        let offset = position - windowStart
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { dst in
            window.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + size])) }
        }
        position += size
        return T(littleEndian: value)
    }

    /// Reads a u64 count and checks that `count × minimumBytes` more bytes fit in the file.
    mutating func count(field: String, minimumBytes: Int) throws -> Int {
        let raw = try integer(UInt64.self, field: field)
        let (need, overflow) = Int(clamping: raw).multipliedReportingOverflow(by: max(minimumBytes, 1))
        guard raw <= UInt64(Int.max), !overflow, need <= remaining else {
            throw malformed(field, "count \(raw) needs at least \(raw) × \(minimumBytes) bytes but only \(remaining) are left in the file (truncated?)")
        }
        return Int(raw)
    }

    /// Reads `count` raw bytes.
    mutating func bytes(_ count: Int, field: String) throws -> [UInt8] {
        try ensure(count, field: field)
        let offset = position - windowStart
        position += count
        return Array(window[offset..<offset + count])
    }

    /// Reads a GGUF string: a u64 byte count, then that many bytes of UTF-8.
    mutating func string(field: String) throws -> String {
        let length = try integer(UInt64.self, field: field)
        guard length <= UInt64(remaining) else {
            throw malformed(field, "string length \(length) exceeds the \(remaining) bytes left in the file")
        }
        let raw = try bytes(Int(length), field: field)
        guard let text = String(validating: raw, as: UTF8.self) else { throw malformed(field, "string is not valid UTF-8") }
        return text
    }

    /// Moves the cursor to `offset` (at most the file size).
    mutating func seek(_ offset: Int, field: String) throws {
        guard offset >= 0, offset <= fileSize else { throw malformed(field, "offset \(offset) is beyond the file's \(fileSize) bytes") }
        position = offset
    }
}
