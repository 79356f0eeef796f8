import Foundation

/// The bytes an object is made of, read chunk by chunk from any thread.
protocol ByteSource {
    /// Total bytes the source delivers.
    var count: Int { get }
    /// Bytes `range` of the content: a view of memory the source holds, or the bytes read into
    /// `scratch` (at least `range.count` long). Valid while `scratch` is.
    func chunk(_ range: Range<Int>, scratch: UnsafeMutableRawBufferPointer) throws -> UnsafeRawBufferPointer
}

/// A source over bytes already in memory (no copy).
struct MemorySource: ByteSource {
    let bytes: UnsafeRawBufferPointer
    var count: Int { bytes.count }
    func chunk(_ range: Range<Int>, scratch: UnsafeMutableRawBufferPointer) throws -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[range])
    }
}

/// A source over a byte range of a file (positional reads, so chunks can be read in parallel).
struct FileRangeSource: ByteSource {
    let file: FileDescriptor
    let offset: Int
    let count: Int

    func chunk(_ range: Range<Int>, scratch: UnsafeMutableRawBufferPointer) throws -> UnsafeRawBufferPointer {
        let target = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<range.count])
        guard try file.read(into: target, at: offset + range.lowerBound) == range.count else {
            throw StoreError.io(path: file.path, operation: "read (file shrank while storing)", errno: EIO)
        }
        return UnsafeRawBufferPointer(target)
    }
}

/// Writes one object file: the header, then chunks shuffled and compressed by all cores while
/// whichever core is free hashes and writes the finished chunks in order (see `OrderedPipeline`).
/// The bytes written depend only on the content, the element size and the chunk size, never on
/// thread timing.
struct ObjectEncoder {
    let pool: ZstdPool
    let chunkSize: Int
    /// Chunks compressed ahead of the writer (ring slots).
    let window: Int
    /// Threads, the caller's included.
    let workers: Int

    /// Encodes everything `source` delivers into `file`; returns the content's hash.
    func encode(_ source: some ByteSource, elementSize: Int, into file: FileDescriptor) throws -> ObjectHash {
        let header = ObjectHeader(elementSize: elementSize, length: source.count, chunkSize: chunkSize)
        try header.bytes.withUnsafeBytes { try file.write($0) }
        let window = max(1, min(self.window, header.chunkCount))
        let workers = max(1, min(self.workers, header.chunkCount))
        let input = min(chunkSize, max(source.count, 1))
        let slotSize = (input + 4 + ZstdPool.bound(input) + 63) & ~63   // per slot: read-in chunk, record
        let slots = UnsafeMutableRawBufferPointer.allocate(byteCount: window * slotSize, alignment: 64)
        let planes = UnsafeMutableRawBufferPointer.allocate(byteCount: workers * input, alignment: 64)
        defer { slots.deallocate(); planes.deallocate() }
        var chunks = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: window)
        var recordSizes = [Int](repeating: 0, count: window)
        var hasher = StreamingHasher()
        try chunks.withUnsafeMutableBufferPointer { chunks in
            try recordSizes.withUnsafeMutableBufferPointer { recordSizes in
                try OrderedPipeline.run(count: header.chunkCount, workers: workers, window: window, claim: { _ in }, produce: { chunk, worker in
                    let start = (chunk % window) * slotSize
                    let slot = UnsafeMutableRawBufferPointer(rebasing: slots[start..<(start + slotSize)])
                    let bytes = try source.chunk(header.chunkRange(chunk), scratch: UnsafeMutableRawBufferPointer(rebasing: slot[0..<input]))
                    chunks[chunk % window] = bytes
                    recordSizes[chunk % window] = compressChunk(bytes, elementSize: elementSize,
                                                                record: UnsafeMutableRawBufferPointer(rebasing: slot[input...]),
                                                                planes: UnsafeMutableRawBufferPointer(rebasing: planes[(worker * input)..<((worker + 1) * input)]))
                }, consume: { chunk in
                    hasher.update(chunks[chunk % window])
                    let slot = (chunk % window) * slotSize + input
                    try file.write(UnsafeRawBufferPointer(rebasing: slots[slot..<(slot + recordSizes[chunk % window])]))
                })
            }
        }
        return hasher.finalize()
    }

    /// Shuffles (through `planes`) and compresses one chunk into `record` as a chunk record; returns
    /// the record's size.
    private func compressChunk(_ chunk: UnsafeRawBufferPointer, elementSize: Int, record: UnsafeMutableRawBufferPointer,
                               planes: UnsafeMutableRawBufferPointer) -> Int {
        let frame = UnsafeMutableRawBufferPointer(rebasing: record[4...])
        var input = chunk
        if elementSize > 1 {
            let shuffled = UnsafeMutableRawBufferPointer(rebasing: planes[0..<chunk.count])
            ByteShuffle.shuffle(chunk, into: shuffled, elementSize: elementSize)
            input = UnsafeRawBufferPointer(shuffled)
        }
        var field: UInt32
        let body: Int
        if let n = pool.compress(input, into: frame) {
            field = UInt32(n)
            body = n
        } else {
            UnsafeMutableRawBufferPointer(rebasing: frame[0..<chunk.count]).copyMemory(from: chunk)   // NOTE: raw chunks hold the original, unshuffled bytes
            field = UInt32(chunk.count) | ObjectHeader.rawFlag
            body = chunk.count
        }
        field = field.littleEndian
        withUnsafeBytes(of: &field) { record.copyMemory(from: $0) }
        return 4 + body
    }
}
