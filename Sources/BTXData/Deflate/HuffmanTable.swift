/// A canonical Huffman code (RFC 1951 §3.2.2) as one flat lookup table indexed by the next
/// `maxLength` input bits (bit-reversed, since DEFLATE sends codes most-significant bit first).
/// Each entry packs `symbol << 8 | codeLength`; a zero length marks a bit pattern no code uses.
struct HuffmanTable {
    private(set) var entries: [UInt32]
    private(set) var maxLength: Int

    /// Builds the table from per-symbol code lengths (0 = symbol unused).
    init(lengths: [UInt8]) throws {
        var countPerLength = [Int](repeating: 0, count: 16)
        for l in lengths { countPerLength[Int(l)] += 1 }
        countPerLength[0] = 0
        maxLength = countPerLength.lastIndex { $0 > 0 } ?? 1
        maxLength = max(maxLength, 1)
        // Kraft inequality: an over-subscribed set of lengths is not a prefix code.
        var left = 1
        for len in 1...15 {
            left = left * 2 - countPerLength[len]
            if left < 0 { throw InflateError.badCodeLengths("over-subscribed code") }
        }
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for len in 1...15 {
            code = (code + countPerLength[len - 1]) << 1
            nextCode[len] = code
        }
        let size = 1 << maxLength
        entries = [UInt32](repeating: 0, count: size)
        for (symbol, l) in lengths.enumerated() where l > 0 {
            let len = Int(l)
            let reversed = HuffmanTable.reverse(nextCode[len], bits: len)
            nextCode[len] += 1
            let entry = UInt32(symbol) << 8 | UInt32(len)
            var i = reversed
            while i < size {
                entries[i] = entry
                i += 1 << len
            }
        }
    }

    private static func reverse(_ code: Int, bits: Int) -> Int {
        var r = 0, c = code
        for _ in 0..<bits {
            r = (r << 1) | (c & 1)
            c >>= 1
        }
        return r
    }

    /// The fixed literal/length code of block type 1.
    static let fixedLiteral: HuffmanTable = {
        var lengths = [UInt8](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        // NOTE: these lengths are a complete prefix code by construction, so this cannot throw.
        return (try? HuffmanTable(lengths: lengths))!
    }()

    /// The fixed distance code of block type 1.
    static let fixedDistance: HuffmanTable = (try? HuffmanTable(lengths: [UInt8](repeating: 5, count: 30)))!
}
