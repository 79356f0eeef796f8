import Foundation

/// Something that hands out bytes in chunks: a file, an in-memory buffer, a decompressor.
/// Decoders pull from it so that big inputs stream instead of sitting whole in memory.
public protocol ByteSource: AnyObject {
    /// Fills up to `buffer.count` bytes and returns how many; 0 means the end of the input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Errors of reading local files.
public enum FileReadError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case readFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "cannot open \(path): \(reason)"
        case let .readFailed(path, reason): return "cannot read \(path): \(reason)"
        }
    }
}

/// Reads a local file with plain POSIX `read`, so nothing is buffered twice.
public final class FileByteSource: ByteSource {
    /// The file being read.
    public let path: String
    private let descriptor: Int32

    /// Opens `path` for reading.
    public init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY)
        if descriptor < 0 { throw FileReadError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Foundation.read(descriptor, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw FileReadError.readFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }

    deinit { close(descriptor) }
}

/// Hands out the bytes of an in-memory buffer.
public final class DataByteSource: ByteSource {
    private let data: Data
    private var offset = 0

    /// A source over `data`.
    public init(_ data: Data) { self.data = data }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, data.count - offset)
        if n <= 0 { return 0 }
        data.withUnsafeBytes { bytes in
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
