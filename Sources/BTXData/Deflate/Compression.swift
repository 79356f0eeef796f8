import Foundation

/// How a file's bytes are compressed, judged by its name.
public enum Compression: String, Sendable {
    case none, gzip, zstd

    /// `.gz` and dictzip `.dz` are gzip, `.zst` is zstd, anything else is read as is.
    public init(path: String) {
        if path.hasSuffix(".gz") || path.hasSuffix(".dz") { self = .gzip }
        else if path.hasSuffix(".zst") { self = .zstd }
        else { self = .none }
    }

    /// The name without its compression suffix (`a.jsonl.gz` → `a.jsonl`).
    public static func strippedName(_ path: String) -> String {
        for suffix in [".gz", ".dz", ".zst"] where path.hasSuffix(suffix) { return String(path.dropLast(suffix.count)) }
        return path
    }

    /// Streams the decompressed bytes of `source` to `sink`; gzip stops with an error past `limit` bytes.
    public func decompress(from source: ByteSource, limit: Int = Gzip.defaultSizeLimit,
                           to sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        switch self {
        case .gzip: try Gzip.decompress(from: source, limit: limit, to: sink)
        case .zstd: try ZstdStream.decompress(from: source, to: sink)
        case .none:
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 8)
            defer { buffer.deallocate() }
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { return }
                try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
        }
    }

    /// The whole decompressed content of a local file (what small corpus files need).
    public static func readFile(_ path: String) throws -> Data {
        var data = Data()
        try Compression(path: path).decompress(from: FileByteSource(path: path)) { data.append($0.bindMemory(to: UInt8.self)) }
        return data
    }
}
