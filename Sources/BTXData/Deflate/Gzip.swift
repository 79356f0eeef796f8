import CZlib
import Foundation

/// gzip (RFC 1952) decoding through zlib: any optional header fields (dictzip `.dz` files are plain
/// gzip whose FEXTRA field holds a chunk table), concatenated members, each member's CRC-32 and
/// size trailer checked by zlib, and a cap on the decompressed size so a small hostile file cannot
/// fill the disk or memory.
public enum Gzip {
    /// The most bytes one stream may decompress to unless the caller says otherwise (16 GiB: far
    /// above any corpus file the pipeline reads, far below what would exhaust the machine).
    public static let defaultSizeLimit = 16 << 30

    private static let chunk = 1 << 18

    /// Streams the decompressed bytes of the gzip data in `source` to `sink`, chunk by chunk; throws
    /// `InflateError.tooLarge` once more than `limit` bytes come out.
    public static func decompress(from source: ByteSource, limit: Int = defaultSizeLimit,
                                  to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var stream = z_stream()
        // 15 + 16: the largest window, gzip wrapper only (a raw zlib or DEFLATE stream is not gzip).
        guard btx_inflateInit2(&stream, 15 + 16) == Z_OK else { throw InflateError.corrupt("zlib could not start") }
        defer { inflateEnd(&stream) }
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 8)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 8)
        defer { input.deallocate(); output.deallocate() }
        var members = 0, inMember = false, total = 0
        while true {
            let n = try source.read(into: input)
            if n == 0 { break }
            stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_in = uInt(n)
            while true {
                if !inMember {
                    if stream.avail_in == 0 { break }
                    if members > 0 { inflateReset(&stream) }  // another member follows the last one
                    members += 1
                    inMember = true
                }
                stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(chunk)
                let status = inflate(&stream, Z_NO_FLUSH)
                if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
                    throw error(status, message: stream.msg, firstMember: members == 1)
                }
                let produced = chunk - Int(stream.avail_out)
                total += produced
                if total > limit { throw InflateError.tooLarge(limit: limit) }
                if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
                if status == Z_STREAM_END { inMember = false; continue }
                if status == Z_BUF_ERROR || (stream.avail_in == 0 && stream.avail_out != 0) { break }
            }
        }
        if inMember || members == 0 { throw InflateError.truncated }
    }

    /// Decompresses a whole gzip buffer in memory.
    public static func decompress(_ data: Data, limit: Int = defaultSizeLimit) throws -> Data {
        var result = Data()
        try decompress(from: DataByteSource(data), limit: limit) { result.append($0.bindMemory(to: UInt8.self)) }
        return result
    }

    /// zlib's status and message as the typed error a user reads.
    private static func error(_ status: Int32, message: UnsafePointer<CChar>?, firstMember: Bool) -> InflateError {
        let text = message.map { String(cString: $0) } ?? "zlib status \(status)"
        switch text {
        case "incorrect header check": return firstMember ? .notGzip : .trailingGarbage
        case "unknown compression method": return .unsupportedMethod
        case "incorrect data check": return .checksumMismatch
        case "incorrect length check": return .sizeMismatch
        default: return .corrupt(text)
        }
    }
}
