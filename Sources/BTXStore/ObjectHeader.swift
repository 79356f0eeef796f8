/// The fixed 24-byte header of an object file, so a reader knows how to decode what follows.
///
/// Layout (little endian): magic "BTXO" | format version u8 | codec u8 | shuffle element size u8 |
/// reserved u8 | uncompressed length u64 | chunk size u32 | reserved u32. Then one record per
/// chunk: u32 stored length (bit 31 set: the chunk's original bytes stored raw) and the bytes.
/// Chunks are independent zstd frames of `chunkSize` uncompressed bytes (the last may be short),
/// each byte-shuffled on its own when `elementSize` > 1.
struct ObjectHeader: Equatable {
    static let magic: [UInt8] = Array("BTXO".utf8)
    static let formatVersion: UInt8 = 1
    static let size = 24
    static let zstdCodec: UInt8 = 1
    /// Bit 31 of a chunk's stored length: the chunk is stored uncompressed (and unshuffled).
    static let rawFlag: UInt32 = 1 << 31
    /// Bounds on the chunk size a reader accepts, so a damaged header cannot ask for huge buffers.
    static let maxChunkSize = 64 << 20

    /// Bytes per element for byte shuffling (1: not shuffled).
    var elementSize: Int
    /// Uncompressed content length.
    var length: Int
    /// Uncompressed bytes per chunk.
    var chunkSize: Int

    var chunkCount: Int { length == 0 ? 0 : (length + chunkSize - 1) / chunkSize }

    /// Uncompressed length of chunk `i`.
    func chunkLength(_ i: Int) -> Int { min(chunkSize, length - i * chunkSize) }

    /// Where chunk `i` lies in the uncompressed content.
    func chunkRange(_ i: Int) -> Range<Int> { (i * chunkSize)..<(i * chunkSize + chunkLength(i)) }

    /// The 24 header bytes.
    var bytes: [UInt8] {
        var out = ObjectHeader.magic + [ObjectHeader.formatVersion, ObjectHeader.zstdCodec, UInt8(elementSize), 0]
        withUnsafeBytes(of: UInt64(length).littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(chunkSize).littleEndian) { out += $0 }
        out += [0, 0, 0, 0]
        return out
    }

    init(elementSize: Int, length: Int, chunkSize: Int) {
        self.elementSize = elementSize
        self.length = length
        self.chunkSize = chunkSize
    }

    /// Parses and checks a header; `path` names the file in errors.
    init(parsing raw: UnsafeRawBufferPointer, path: String) throws {
        func bad(_ reason: String) -> StoreError { .corrupt(path: path, reason: reason) }
        guard raw.count == ObjectHeader.size else { throw bad("file shorter than its \(ObjectHeader.size)-byte header") }
        guard Array(raw[0..<4]) == ObjectHeader.magic else { throw bad("not a btxpipe object (bad magic)") }
        guard raw[4] == ObjectHeader.formatVersion else {
            throw bad("object format version \(raw[4]), this btxpipe reads version \(ObjectHeader.formatVersion)")
        }
        guard raw[5] == ObjectHeader.zstdCodec else { throw bad("unknown codec \(raw[5])") }
        // NOTE: writers zero the reserved bytes; damage there changes no content, but is damage.
        guard raw[7] == 0, raw[20..<24].allSatisfy({ $0 == 0 }) else { throw bad("reserved header bytes are not zero") }
        let length = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        let chunkSize = Int(raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self).littleEndian)
        elementSize = Int(raw[6])
        guard (1...16).contains(elementSize) else { throw bad("shuffle element size \(elementSize) outside 1...16") }
        guard chunkSize > 0, chunkSize <= ObjectHeader.maxChunkSize, chunkSize % elementSize == 0 else {
            throw bad("chunk size \(chunkSize) invalid")
        }
        guard length < UInt64(1) << 50 else { throw bad("implausible length \(length)") }
        self.length = Int(length)
        self.chunkSize = chunkSize
    }

    /// Most uncompressed bytes one stored byte can stand for: a zstd RLE block spends 4 bytes on up
    /// to 128 KiB. A claimed length beyond file size × this cannot be genuine.
    static let maxExpansion = 32_768

    /// Checks the header's claims against the size of the file it came from: a 4-byte record per
    /// chunk must fit, and the content cannot expand more than `maxExpansion` times.
    func check(fileSize: Int, path: String) throws {
        let body = fileSize - ObjectHeader.size
        guard chunkCount <= body / 4, length <= body * ObjectHeader.maxExpansion else {
            throw StoreError.corrupt(path: path, reason: "header claims \(length) bytes in \(chunkCount) chunks, more than its \(fileSize)-byte file can hold")
        }
    }
}
