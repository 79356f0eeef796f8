import Foundation

/// Bytes handed to the encoder in order, one batch at a time.
protocol ByteSource {
    /// Total bytes the source will deliver.
    var count: Int { get }
    /// The next `n` bytes; valid until the next call.
    mutating func next(_ n: Int) throws -> UnsafeRawBufferPointer
}

/// A source over bytes already in memory (no copy).
struct MemorySource: ByteSource {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    var count: Int { bytes.count }
    mutating func next(_ n: Int) throws -> UnsafeRawBufferPointer {
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }
}

/// A source over a byte range of a file, read through one reused buffer.
final class FileRangeSource: ByteSource {
    let file: FileDescriptor
    let count: Int
    private var offset: Int
    private var buffer: UnsafeMutableRawBufferPointer

    init(file: FileDescriptor, offset: Int, count: Int, bufferSize: Int) {
        self.file = file
        self.offset = offset
        self.count = count
        buffer = .allocate(byteCount: max(1, min(bufferSize, count)), alignment: 64)
    }

    deinit { buffer.deallocate() }

    func next(_ n: Int) throws -> UnsafeRawBufferPointer {
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
        let got = try file.read(into: target, at: offset)
        guard got == n else { throw StoreError.io(path: file.path, operation: "read (file shrank while storing)", errno: EIO) }
        offset += n
        return UnsafeRawBufferPointer(target)
    }
}

/// Writes one object file: header, then chunks compressed in parallel batches while the content
/// is hashed on another thread. The bytes written depend only on the content, the element size and
/// the chunk size, never on thread timing.
struct ObjectEncoder {
    let pool: ZstdPool
    let chunkSize: Int
    let batchChunks: Int

    /// Encodes everything `source` delivers into `file`; returns the content's hash.
    func encode(_ source: inout some ByteSource, elementSize: Int, into file: FileDescriptor) throws -> ObjectHash {
        let header = ObjectHeader(elementSize: elementSize, length: source.count, chunkSize: chunkSize)
        try header.bytes.withUnsafeBytes { try file.write($0) }
        let slotInput = min(chunkSize, max(source.count, 1))
        let slotSize = 4 + ZstdPool.bound(slotInput) + slotInput   // length, frame, shuffle scratch
        let slots = min(batchChunks, max(header.chunkCount, 1))
        let work = UnsafeMutableRawBufferPointer.allocate(byteCount: slots * slotSize, alignment: 64)
        defer { work.deallocate() }
        var hasher = StreamingHasher()
        var stored = [Int](repeating: 0, count: slots)
        var first = 0
        while first < header.chunkCount {
            let n = min(slots, header.chunkCount - first)
            let batchBytes = (first..<(first + n)).reduce(0) { $0 + header.chunkLength($1) }
            let input = try source.next(batchBytes)
            stored.withUnsafeMutableBufferPointer { storedSizes in
                DispatchQueue.concurrentPerform(iterations: n + 1) { i in
                    if i == 0 { hasher.update(input); return }
                    let c = i - 1
                    let chunk = UnsafeRawBufferPointer(rebasing: input[(c * chunkSize)..<(c * chunkSize + header.chunkLength(first + c))])
                    let slot = UnsafeMutableRawBufferPointer(rebasing: work[(c * slotSize)..<((c + 1) * slotSize)])
                    storedSizes[c] = compressChunk(chunk, elementSize: elementSize, slot: slot)
                }
            }
            for c in 0..<n { try file.write(UnsafeRawBufferPointer(rebasing: work[(c * slotSize)..<(c * slotSize + stored[c])])) }
            first += n
        }
        return hasher.finalize()
    }

    /// Shuffles and compresses one chunk into `slot` as a chunk record; returns the record's size.
    private func compressChunk(_ chunk: UnsafeRawBufferPointer, elementSize: Int, slot: UnsafeMutableRawBufferPointer) -> Int {
        let scratch = UnsafeMutableRawBufferPointer(rebasing: slot[(slot.count - chunk.count)...])
        let frame = UnsafeMutableRawBufferPointer(rebasing: slot[4..<(slot.count - chunk.count)])
        var input = chunk
        if elementSize > 1 {
            ByteShuffle.shuffle(chunk, into: scratch, elementSize: elementSize)
            input = UnsafeRawBufferPointer(scratch)
        }
        var field: UInt32
        let body: Int
        if let n = pool.compress(input, into: frame) {
            field = UInt32(n)
            body = n
        } else {
            frame.copyMemory(from: chunk)   // NOTE: raw chunks hold the original, unshuffled bytes
            field = UInt32(chunk.count) | ObjectHeader.rawFlag
            body = chunk.count
        }
        field = field.littleEndian
        withUnsafeBytes(of: &field) { slot.copyMemory(from: $0) }
        return 4 + body
    }
}
