/// Reads a byte source least-significant bit first, as DEFLATE packs its fields (RFC 1951 §3.1.1).
///
/// NOTE: to keep the hot loop free of end-of-input checks, `fill` invents zero bytes past the end
/// and counts them in `padding`; `consumedPadding` tells whether the decoder actually ate any,
/// which means the stream was truncated.
struct BitReader {
    private let source: ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var position = 0
    private var end = 0
    /// Bits not yet consumed; the next bit is bit 0.
    private(set) var bits: UInt64 = 0
    /// How many of `bits` are valid.
    private(set) var count = 0
    private var padding = 0

    init(source: ByteSource, chunkSize: Int = 1 << 16) {
        self.source = source
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 8)
    }

    /// Frees the chunk buffer; the reader must not be used afterwards.
    func deallocate() { buffer.deallocate() }

    /// Tops `bits` up to at least 57 valid bits.
    @inline(__always)
    mutating func fill() throws {
        while count <= 56 {
            if position == end {
                try load()
                if position == end {
                    padding += 1
                    if padding > 16 { throw InflateError.truncated }
                    count += 8
                    continue
                }
            }
            bits |= UInt64(buffer[position]) << UInt64(count)
            position += 1
            count += 8
        }
    }

    private mutating func load() throws {
        if padding > 0 { return }
        position = 0
        end = try source.read(into: buffer)
    }

    /// Consumes `n` bits (n ≤ count).
    @inline(__always)
    mutating func drop(_ n: Int) {
        bits >>= UInt64(n)
        count -= n
    }

    /// Reads an `n`-bit field (n ≤ 32).
    @inline(__always)
    mutating func take(_ n: Int) throws -> Int {
        if count < n { try fill() }
        let v = Int(bits & ((1 << UInt64(n)) - 1))
        drop(n)
        return v
    }

    /// Skips to the next byte boundary.
    mutating func alignToByte() { drop(count & 7) }

    /// Whether the decoder has used any of the invented zero bytes.
    var consumedPadding: Bool { count < padding * 8 }

    /// Whether any real input is left (after aligning to a byte).
    mutating func atEnd() throws -> Bool {
        if count - padding * 8 > 0 { return false }
        if padding > 0 { return true }
        if position < end { return false }
        try load()
        return position == end
    }
}
