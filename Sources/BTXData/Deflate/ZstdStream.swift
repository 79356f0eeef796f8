import CZstd
import Foundation

/// Errors of zstd stream decoding.
public enum ZstdStreamError: Error, CustomStringConvertible {
    case decode(String)
    case truncated

    public var description: String {
        switch self {
        case let .decode(why): return "zstd decoding failed: \(why)"
        case .truncated: return "zstd stream ends early (truncated file?)"
        }
    }
}

/// Streaming zstd decompression through libzstd, with the same shape as `Gzip.decompress`.
public enum ZstdStream {
    /// Streams the decompressed bytes of the zstd frames in `source` to `sink`.
    public static func decompress(from source: ByteSource, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let stream = ZSTD_createDStream() else { throw ZstdStreamError.decode("out of memory") }
        defer { ZSTD_freeDStream(stream) }
        let inCapacity = ZSTD_DStreamInSize(), outCapacity = ZSTD_DStreamOutSize()
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: inCapacity, alignment: 8)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: outCapacity, alignment: 8)
        defer { input.deallocate(); output.deallocate() }
        var pending = 0  // zstd's hint: nonzero while a frame is unfinished
        var sawInput = false
        while true {
            let n = try source.read(into: input)
            if n == 0 { break }
            sawInput = true
            var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: n, pos: 0)
            while inBuffer.pos < inBuffer.size {
                var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: outCapacity, pos: 0)
                let r = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                if ZSTD_isError(r) != 0 { throw ZstdStreamError.decode(String(cString: ZSTD_getErrorName(r))) }
                pending = r
                if outBuffer.pos > 0 { try sink(UnsafeRawBufferPointer(start: output.baseAddress, count: outBuffer.pos)) }
            }
        }
        // Drain output that did not fit while the input was being consumed.
        while pending != 0 {
            var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: 0, pos: 0)
            var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: outCapacity, pos: 0)
            let r = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
            if ZSTD_isError(r) != 0 { throw ZstdStreamError.decode(String(cString: ZSTD_getErrorName(r))) }
            if outBuffer.pos == 0 { throw ZstdStreamError.truncated }
            pending = r
            try sink(UnsafeRawBufferPointer(start: output.baseAddress, count: outBuffer.pos))
        }
        if !sawInput { throw ZstdStreamError.truncated }
    }
}
