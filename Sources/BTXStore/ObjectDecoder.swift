import Foundation

/// Reads one object file back: chunks decompressed in parallel batches while the previous batch is
/// handed to the sink and hashed. The content is checked against the expected hash at the end, so
/// a caller must not trust what the sink saw until `decode` returns without throwing.
struct ObjectDecoder {
    let pool: ZstdPool
    let batchChunks: Int

    /// Decodes the object at `file` named `expected`: `begin` gets the length first, then `sink`
    /// gets the content in order. Throws `StoreError.corrupt` for any damage.
    func decode(_ file: FileDescriptor, expected: ObjectHash, begin: (Int) throws -> Void,
                sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        func bad(_ reason: String) -> StoreError { .corrupt(path: file.path, reason: reason) }
        let header = try Store.header(of: file)   // NOTE: pread; chunks are then read sequentially after it
        guard lseek(file.fd, off_t(ObjectHeader.size), SEEK_SET) == off_t(ObjectHeader.size) else { throw bad("cannot seek past the header") }
        try begin(header.length)

        let slots = min(batchChunks, max(header.chunkCount, 1))
        let frameCapacity = ZstdPool.bound(header.chunkSize)
        let compressed = UnsafeMutableRawBufferPointer.allocate(byteCount: slots * frameCapacity, alignment: 64)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: slots * header.chunkSize, alignment: 64)
        var current = UnsafeMutableRawBufferPointer.allocate(byteCount: slots * header.chunkSize, alignment: 64)
        var previous = UnsafeMutableRawBufferPointer.allocate(byteCount: slots * header.chunkSize, alignment: 64)
        defer { compressed.deallocate(); scratch.deallocate(); current.deallocate(); previous.deallocate() }

        var hasher = StreamingHasher()
        var pendingBytes = 0          // bytes of `previous` not yet sunk and hashed
        var fields = [UInt32](repeating: 0, count: slots)
        var failures = [String?](repeating: nil, count: slots + 1)
        var sinkError: Error?
        var first = 0
        while first < header.chunkCount || pendingBytes > 0 {
            let n = min(slots, header.chunkCount - first)
            for c in 0..<n { fields[c] = try readChunkRecord(file, header: header, chunk: first + c,
                                                              into: compressed, slot: c, capacity: frameCapacity) }
            let start = first, pending = UnsafeRawBufferPointer(rebasing: previous[0..<pendingBytes])
            failures.withUnsafeMutableBufferPointer { failed in
                DispatchQueue.concurrentPerform(iterations: n + 1) { i in
                    if i == 0 {
                        do { try sink(pending); hasher.update(pending) } catch { sinkError = error }
                        return
                    }
                    let c = i - 1, length = header.chunkLength(start + c)
                    let frame = UnsafeRawBufferPointer(rebasing: compressed[(c * frameCapacity)...])
                    let out = UnsafeMutableRawBufferPointer(rebasing: current[(c * header.chunkSize)..<(c * header.chunkSize + length)])
                    let tmp = UnsafeMutableRawBufferPointer(rebasing: scratch[(c * header.chunkSize)..<(c * header.chunkSize + length)])
                    failed[i] = decodeChunk(frame, field: fields[c], elementSize: header.elementSize, out: out, scratch: tmp)
                }
            }
            if let sinkError { throw sinkError }
            if let reason = failures[1...].lazy.compactMap({ $0 }).first { throw bad(reason) }
            pendingBytes = (start..<(start + n)).reduce(0) { $0 + header.chunkLength($1) }
            swap(&current, &previous)
            first += n
        }
        var probe: UInt8 = 0
        guard try withUnsafeMutableBytes(of: &probe, { try file.read(into: $0) }) == 0 else { throw bad("trailing bytes after the last chunk") }
        let actual = hasher.finalize()
        guard actual == expected else { throw bad("content hashes to \(actual.short)…, not to its name \(expected.short)…") }
    }

    /// Reads chunk `chunk`'s record into `slot` of `buffer`; returns its length field.
    private func readChunkRecord(_ file: FileDescriptor, header: ObjectHeader, chunk: Int,
                                 into buffer: UnsafeMutableRawBufferPointer, slot: Int, capacity: Int) throws -> UInt32 {
        var field: UInt32 = 0
        guard try withUnsafeMutableBytes(of: &field, { try file.read(into: $0) }) == 4 else {
            throw StoreError.corrupt(path: file.path, reason: "truncated: chunk \(chunk) of \(header.chunkCount) missing")
        }
        field = UInt32(littleEndian: field)
        let size = Int(field & ~ObjectHeader.rawFlag)
        let raw = field & ObjectHeader.rawFlag != 0
        guard raw ? size == header.chunkLength(chunk) : size <= capacity else {
            throw StoreError.corrupt(path: file.path, reason: "chunk \(chunk) has impossible stored size \(size)")
        }
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[(slot * capacity)..<(slot * capacity + size)])
        guard try file.read(into: target) == size else {
            throw StoreError.corrupt(path: file.path, reason: "truncated inside chunk \(chunk) of \(header.chunkCount)")
        }
        return field
    }

    /// Decodes one chunk record into `out`; a failure reason, or nil.
    private func decodeChunk(_ frame: UnsafeRawBufferPointer, field: UInt32, elementSize: Int,
                             out: UnsafeMutableRawBufferPointer, scratch: UnsafeMutableRawBufferPointer) -> String? {
        let size = Int(field & ~ObjectHeader.rawFlag)
        let body = UnsafeRawBufferPointer(rebasing: frame[0..<size])
        if field & ObjectHeader.rawFlag != 0 { out.copyMemory(from: body); return nil }
        let target = elementSize > 1 ? scratch : out
        guard let n = pool.decompress(body, into: target), n == out.count else { return "a chunk does not decompress to its length" }
        if elementSize > 1 { ByteShuffle.unshuffle(UnsafeRawBufferPointer(scratch), into: out, elementSize: elementSize) }
        return nil
    }
}
