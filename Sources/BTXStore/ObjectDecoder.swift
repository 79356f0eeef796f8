import Foundation

/// Reads one object file back with all cores (see `OrderedPipeline`): workers read and decompress
/// chunks ahead, straight into the caller's buffer or into a ring of chunk slots for a streaming
/// sink, while whichever worker is free hashes the decoded chunks in order. SHA-256 is sequential,
/// so it sets the pace; everything else hides behind it.
///
/// The content is checked against the expected hash only at the end: a sink must not trust what it
/// saw until `decode` returns, and a buffer target is overwritten with 0xFF bytes (NaN as floats)
/// when `decode` throws, so unverified bytes never pass for a tensor.
struct ObjectDecoder {
    let pool: ZstdPool
    /// Chunks decoded ahead of the hash (and ring slots when streaming).
    let window: Int
    /// Threads, the caller's included.
    let workers: Int

    /// Decodes the object at `file` named `expected` into the buffer `destination` returns for the
    /// content length (which must hold exactly that many bytes). Throws `StoreError.corrupt` for any
    /// damage, after filling the buffer with 0xFF.
    func decode(_ file: FileDescriptor, expected: ObjectHash,
                into destination: (Int) throws -> UnsafeMutableRawBufferPointer) throws {
        let header = try Store.header(of: file)
        let buffer = try destination(header.length)
        precondition(buffer.count == header.length, "decode buffer holds \(buffer.count) bytes, the object \(header.length)")
        do {
            try run(file, header: header, expected: expected, output: { chunk in
                UnsafeMutableRawBufferPointer(rebasing: buffer[header.chunkRange(chunk)])
            }, deliver: { _ in })
        } catch {
            if let base = buffer.baseAddress { memset(base, 0xFF, buffer.count) }
            throw error
        }
    }

    /// Decodes the object at `file` named `expected`: `begin` gets the length first, then `sink`
    /// gets the content in order, one chunk at a time (on any worker thread, never two at once).
    /// Throws `StoreError.corrupt` for any damage.
    func decode(_ file: FileDescriptor, expected: ObjectHash, begin: (Int) throws -> Void,
                sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let header = try Store.header(of: file)
        try begin(header.length)
        let slots = max(1, min(window, header.chunkCount))
        let slotSize = min(header.chunkSize, header.length)   // small objects get small buffers
        let ring = UnsafeMutableRawBufferPointer.allocate(byteCount: slots * slotSize, alignment: 64)
        defer { ring.deallocate() }
        try run(file, header: header, expected: expected, output: { chunk in
            let start = (chunk % slots) * slotSize
            return UnsafeMutableRawBufferPointer(rebasing: ring[start..<(start + header.chunkLength(chunk))])
        }, deliver: sink)
    }

    /// Where a claimed chunk's stored bytes are in the file.
    private struct ChunkRecord {
        var offset = 0
        var field: UInt32 = 0
        var storedSize: Int { Int(field & ~ObjectHeader.rawFlag) }
        var isRaw: Bool { field & ObjectHeader.rawFlag != 0 }
    }

    /// The pipeline: claim walks the chunk records in order, produce decodes chunk `i` into
    /// `output(i)`, consume delivers and hashes it; then the file's end and the hash are checked.
    private func run(_ file: FileDescriptor, header: ObjectHeader, expected: ObjectHash,
                     output: (Int) -> UnsafeMutableRawBufferPointer,
                     deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fileSize = Int(try file.status().st_size)
        let window = max(1, min(self.window, header.chunkCount))
        let workers = max(1, min(self.workers, header.chunkCount))
        let largest = min(header.chunkSize, header.length)   // small objects get small buffers
        let frameCapacity = ZstdPool.bound(largest)
        let scratchSize = (frameCapacity + largest + 63) & ~63   // per worker: frame, shuffled planes
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: workers * scratchSize, alignment: 64)
        defer { scratch.deallocate() }
        var records = [ChunkRecord](repeating: ChunkRecord(), count: window)
        var offset = ObjectHeader.size
        var hasher = StreamingHasher()
        try records.withUnsafeMutableBufferPointer { records in
            try OrderedPipeline.run(count: header.chunkCount, workers: workers, window: window, claim: { chunk in
                records[chunk % window] = try readRecordField(file, header: header, chunk: chunk, at: &offset,
                                                              fileSize: fileSize, capacity: frameCapacity)
            }, produce: { chunk, worker in
                let space = UnsafeMutableRawBufferPointer(rebasing: scratch[(worker * scratchSize)..<((worker + 1) * scratchSize)])
                try decodeChunk(file, records[chunk % window], chunk: chunk, header: header, into: output(chunk),
                                frame: UnsafeMutableRawBufferPointer(rebasing: space[0..<frameCapacity]),
                                planes: UnsafeMutableRawBufferPointer(rebasing: space[frameCapacity...]))
            }, consume: { chunk in
                let bytes = UnsafeRawBufferPointer(output(chunk))
                try deliver(bytes)
                hasher.update(bytes)
            })
        }
        guard offset == fileSize else {
            throw StoreError.corrupt(path: file.path, reason: "\(fileSize - offset) trailing bytes after the last chunk")
        }
        let actual = hasher.finalize()
        guard actual == expected else {
            throw StoreError.corrupt(path: file.path, reason: "content hashes to \(actual.short)…, not to its name \(expected.short)…")
        }
    }

    /// Reads chunk `chunk`'s length field at `offset`, checks it, and advances `offset` past the record.
    private func readRecordField(_ file: FileDescriptor, header: ObjectHeader, chunk: Int, at offset: inout Int,
                                 fileSize: Int, capacity: Int) throws -> ChunkRecord {
        func bad(_ reason: String) -> StoreError { .corrupt(path: file.path, reason: reason) }
        var field: UInt32 = 0
        guard try withUnsafeMutableBytes(of: &field, { try file.read(into: $0, at: offset) }) == 4 else {
            throw bad("truncated: chunk \(chunk) of \(header.chunkCount) missing")
        }
        let record = ChunkRecord(offset: offset + 4, field: UInt32(littleEndian: field))
        guard record.isRaw ? record.storedSize == header.chunkLength(chunk) : record.storedSize <= capacity else {
            throw bad("chunk \(chunk) has impossible stored size \(record.storedSize)")
        }
        guard record.offset + record.storedSize <= fileSize else {
            throw bad("truncated inside chunk \(chunk) of \(header.chunkCount)")
        }
        offset = record.offset + record.storedSize
        return record
    }

    /// Reads and decodes one chunk into `out` (raw chunks straight into it; compressed ones through
    /// `frame`, and shuffled ones through `planes` too).
    private func decodeChunk(_ file: FileDescriptor, _ record: ChunkRecord, chunk: Int, header: ObjectHeader,
                             into out: UnsafeMutableRawBufferPointer,
                             frame: UnsafeMutableRawBufferPointer, planes: UnsafeMutableRawBufferPointer) throws {
        func bad(_ reason: String) -> StoreError { .corrupt(path: file.path, reason: "chunk \(chunk) of \(header.chunkCount) \(reason)") }
        let body = record.isRaw ? out : UnsafeMutableRawBufferPointer(rebasing: frame[0..<record.storedSize])
        guard try file.read(into: body, at: record.offset) == body.count else { throw bad("was cut short while reading") }
        if record.isRaw { return }   // NOTE: raw chunks hold the original, unshuffled bytes
        let shuffled = header.elementSize > 1
        let target = shuffled ? UnsafeMutableRawBufferPointer(rebasing: planes[0..<out.count]) : out
        guard let n = pool.decompress(UnsafeRawBufferPointer(body), into: target), n == out.count else {
            throw bad("does not decompress to its \(out.count) bytes")
        }
        if shuffled { ByteShuffle.unshuffle(UnsafeRawBufferPointer(target), into: out, elementSize: header.elementSize) }
    }
}
