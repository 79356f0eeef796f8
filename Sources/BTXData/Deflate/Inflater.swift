/// A streaming DEFLATE (RFC 1951) decoder: pulls compressed bits from a `BitReader` and pushes
/// decoded bytes to a sink in chunks, keeping only the 32 KiB history that back-references need.
final class Inflater {
    private static let window = 1 << 15
    private static let capacity = 1 << 18
    private static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                            35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                             3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                              513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
                                               8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private let out: UnsafeMutablePointer<UInt8>
    private var position = 0
    private var flushed = 0
    private let sink: (UnsafeRawBufferPointer) throws -> Void

    /// Decoded bytes go to `sink` in chunks of up to 256 KiB.
    init(sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        out = .allocate(capacity: Inflater.capacity)
        self.sink = sink
    }

    deinit { out.deallocate() }

    /// Decodes one complete DEFLATE stream (up to and including its final block).
    func inflate(_ reader: inout BitReader) throws {
        var final = false
        while !final {
            final = try reader.take(1) == 1
            switch try reader.take(2) {
            case 0: try storedBlock(&reader)
            case 1: try huffmanBlock(&reader, HuffmanTable.fixedLiteral, HuffmanTable.fixedDistance)
            case 2:
                let (literal, distance) = try dynamicTables(&reader)
                try huffmanBlock(&reader, literal, distance)
            case let t: throw InflateError.badBlockType(t)
            }
            if reader.consumedPadding { throw InflateError.truncated }
        }
        try flush(keepHistory: false)
    }

    private func storedBlock(_ reader: inout BitReader) throws {
        reader.alignToByte()
        let len = try reader.take(16), nlen = try reader.take(16)
        if len != (~nlen & 0xFFFF) { throw InflateError.storedLengthMismatch }
        for _ in 0..<len {
            if position == Inflater.capacity { try flush(keepHistory: true) }
            out[position] = UInt8(try reader.take(8))
            position += 1
        }
    }

    /// Reads the code-length code, then the literal/length and distance codes (RFC 1951 §3.2.7).
    private func dynamicTables(_ reader: inout BitReader) throws -> (HuffmanTable, HuffmanTable) {
        let hlit = try reader.take(5) + 257, hdist = try reader.take(5) + 1, hclen = try reader.take(4) + 4
        var codeLengthLengths = [UInt8](repeating: 0, count: 19)
        for i in 0..<hclen { codeLengthLengths[Inflater.codeLengthOrder[i]] = UInt8(try reader.take(3)) }
        let codeLengthTable = try HuffmanTable(lengths: codeLengthLengths)
        var lengths = [UInt8]()
        lengths.reserveCapacity(hlit + hdist)
        while lengths.count < hlit + hdist {
            let symbol = try decode(&reader, codeLengthTable)
            switch symbol {
            case 0..<16: lengths.append(UInt8(symbol))
            case 16:
                guard let previous = lengths.last else { throw InflateError.badCodeLengths("repeat with no previous length") }
                lengths += repeatElement(previous, count: 3 + (try reader.take(2)))
            case 17: lengths += repeatElement(0, count: 3 + (try reader.take(3)))
            default: lengths += repeatElement(0, count: 11 + (try reader.take(7)))
            }
        }
        if lengths.count > hlit + hdist { throw InflateError.badCodeLengths("repeat runs past the end") }
        if lengths[256] == 0 { throw InflateError.badCodeLengths("no end-of-block code") }
        return (try HuffmanTable(lengths: Array(lengths[0..<hlit])), try HuffmanTable(lengths: Array(lengths[hlit...])))
    }

    @inline(__always)
    private func decode(_ reader: inout BitReader, _ table: HuffmanTable) throws -> Int {
        if reader.count < table.maxLength { try reader.fill() }
        let entry = table.entries[Int(reader.bits & ((1 << UInt64(table.maxLength)) - 1))]
        let len = Int(entry & 0xFF)
        if len == 0 { throw InflateError.invalidCode }
        reader.drop(len)
        return Int(entry >> 8)
    }

    /// The hot loop: literals and back-references until the end-of-block symbol.
    private func huffmanBlock(_ reader: inout BitReader, _ literal: HuffmanTable, _ distance: HuffmanTable) throws {
        let litMask = UInt64((1 << literal.maxLength) - 1), distMask = UInt64((1 << distance.maxLength) - 1)
        try literal.entries.withUnsafeBufferPointer { litTable in
            try distance.entries.withUnsafeBufferPointer { distTable in
                let out = self.out
                var pos = position
                defer { position = pos }
                while true {
                    // 57 bits cover the longest length+extra (15+5) and distance+extra (15+13) pair.
                    if reader.count < 48 { try reader.fill() }
                    let entry = litTable[Int(reader.bits & litMask)]
                    let len = Int(entry & 0xFF)
                    if len == 0 { throw InflateError.invalidCode }
                    reader.drop(len)
                    let symbol = Int(entry >> 8)
                    if symbol < 256 {
                        out[pos] = UInt8(truncatingIfNeeded: symbol)
                        pos += 1
                        if pos == Inflater.capacity { position = pos; try flush(keepHistory: true); pos = position }
                        continue
                    }
                    if symbol == 256 { return }
                    let li = symbol - 257
                    if li >= 29 { throw InflateError.invalidCode }
                    let length = Inflater.lengthBase[li] + Int(reader.bits & ((1 << UInt64(Inflater.lengthExtra[li])) - 1))
                    reader.drop(Inflater.lengthExtra[li])
                    let dEntry = distTable[Int(reader.bits & distMask)]
                    let dLen = Int(dEntry & 0xFF)
                    let di = Int(dEntry >> 8)
                    if dLen == 0 || di >= 30 { throw InflateError.invalidCode }
                    reader.drop(dLen)
                    let dist = Inflater.distanceBase[di] + Int(reader.bits & ((1 << UInt64(Inflater.distanceExtra[di])) - 1))
                    reader.drop(Inflater.distanceExtra[di])
                    if dist > pos { throw InflateError.distanceTooFar(distance: dist, available: pos) }
                    if pos + length > Inflater.capacity { position = pos; try flush(keepHistory: true); pos = position }
                    var from = pos - dist
                    for _ in 0..<length {
                        out[pos] = out[from]
                        pos += 1
                        from += 1
                    }
                }
            }
        }
    }

    /// Hands the bytes not yet seen to the sink; keeps the last 32 KiB as history.
    private func flush(keepHistory: Bool) throws {
        if position > flushed { try sink(UnsafeRawBufferPointer(start: out + flushed, count: position - flushed)) }
        flushed = position
        guard keepHistory, position > Inflater.window else { return }
        (out).update(from: out + position - Inflater.window, count: Inflater.window)
        position = Inflater.window
        flushed = position
    }
}
