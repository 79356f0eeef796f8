import Foundation

/// gzip (RFC 1952) decoding on top of `Inflater`: headers with any optional fields (dictzip `.dz`
/// files are plain gzip whose FEXTRA field holds a chunk table, skipped here), concatenated
/// members, and the CRC-32 and size trailer checked for each member.
public enum Gzip {
    /// Streams the decompressed bytes of the gzip data in `source` to `sink`, chunk by chunk.
    public static func decompress(from source: ByteSource, to sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        var reader = BitReader(source: source)
        defer { reader.deallocate() }
        var crc = CRC32()
        var size: UInt32 = 0
        let inflater = Inflater { chunk in
            crc.update(chunk)
            size &+= UInt32(truncatingIfNeeded: chunk.count)
            try sink(chunk)
        }
        var first = true
        while try first || !reader.atEnd() {
            try readHeader(&reader, first: first)
            first = false
            crc = CRC32()
            size = 0
            try inflater.inflate(&reader)
            reader.alignToByte()
            let expectedCRC = UInt32(try reader.take(32)), expectedSize = UInt32(try reader.take(32))
            if reader.consumedPadding { throw InflateError.truncated }
            if expectedCRC != crc.value { throw InflateError.checksumMismatch(expected: expectedCRC, actual: crc.value) }
            if expectedSize != size { throw InflateError.sizeMismatch(expected: expectedSize, actual: size) }
        }
    }

    /// Decompresses a whole gzip buffer in memory.
    public static func decompress(_ data: Data) throws -> Data {
        var result = Data()
        try decompress(from: DataByteSource(data)) { result.append($0.bindMemory(to: UInt8.self)) }
        return result
    }

    private static func readHeader(_ reader: inout BitReader, first: Bool) throws {
        let id1 = try reader.take(8), id2 = try reader.take(8)
        if id1 != 0x1F || id2 != 0x8B { throw first ? InflateError.notGzip : InflateError.trailingGarbage }
        let method = try reader.take(8)
        if method != 8 { throw InflateError.unsupportedMethod(method) }
        let flags = try reader.take(8)
        if flags & 0xE0 != 0 { throw InflateError.badHeader("reserved flag bits set") }
        _ = try reader.take(32)  // MTIME
        _ = try reader.take(16)  // XFL, OS
        if flags & 0x04 != 0 {  // FEXTRA (dictzip's chunk table lives here)
            let xlen = try reader.take(16)
            for _ in 0..<xlen { _ = try reader.take(8) }
        }
        if flags & 0x08 != 0 { try skipZeroTerminated(&reader) }  // FNAME
        if flags & 0x10 != 0 { try skipZeroTerminated(&reader) }  // FCOMMENT
        if flags & 0x02 != 0 { _ = try reader.take(16) }  // FHCRC
        if reader.consumedPadding { throw InflateError.truncated }
    }

    private static func skipZeroTerminated(_ reader: inout BitReader) throws {
        while try reader.take(8) != 0 {
            if reader.consumedPadding { throw InflateError.truncated }
        }
    }
}
