/// Blosc-style byte shuffling: for elements of `size` bytes, byte j of every element goes to plane j.
/// The exponent bytes of floats then sit together and compress far better than interleaved.
/// Trailing bytes that do not fill an element are copied unchanged.
enum ByteShuffle {
    /// Splits `source` into planes in `destination` (same count, not overlapping).
    static func shuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize size: Int) {
        precondition(source.count == destination.count)
        let n = source.count / size
        let dst = destination.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // NOTE: the word-typed loops load whole elements and vectorise; they need aligned input.
        if size == 4, Int(bitPattern: source.baseAddress) % 4 == 0 {
            let src = source.baseAddress!.assumingMemoryBound(to: UInt32.self)
            for e in 0..<n {
                let v = src[e]
                dst[e] = UInt8(truncatingIfNeeded: v); dst[n + e] = UInt8(truncatingIfNeeded: v >> 8)
                dst[2 * n + e] = UInt8(truncatingIfNeeded: v >> 16); dst[3 * n + e] = UInt8(truncatingIfNeeded: v >> 24)
            }
        } else if size == 2, Int(bitPattern: source.baseAddress) % 2 == 0 {
            let src = source.baseAddress!.assumingMemoryBound(to: UInt16.self)
            for e in 0..<n { let v = src[e]; dst[e] = UInt8(truncatingIfNeeded: v); dst[n + e] = UInt8(truncatingIfNeeded: v >> 8) }
        } else {
            let src = source.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for e in 0..<n { for j in 0..<size { dst[j * n + e] = src[e * size + j] } }
        }
        for i in (n * size)..<source.count { destination[i] = source[i] }
    }

    /// Inverse of `shuffle`.
    static func unshuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize size: Int) {
        precondition(source.count == destination.count)
        let n = source.count / size
        let src = source.baseAddress!.assumingMemoryBound(to: UInt8.self)
        if size == 4, Int(bitPattern: destination.baseAddress) % 4 == 0 {
            let dst = destination.baseAddress!.assumingMemoryBound(to: UInt32.self)
            for e in 0..<n {
                dst[e] = UInt32(src[e]) | UInt32(src[n + e]) << 8 | UInt32(src[2 * n + e]) << 16 | UInt32(src[3 * n + e]) << 24
            }
        } else if size == 2, Int(bitPattern: destination.baseAddress) % 2 == 0 {
            let dst = destination.baseAddress!.assumingMemoryBound(to: UInt16.self)
            for e in 0..<n { dst[e] = UInt16(src[e]) | UInt16(src[n + e]) << 8 }
        } else {
            let dst = destination.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for e in 0..<n { for j in 0..<size { dst[e * size + j] = src[j * n + e] } }
        }
        for i in (n * size)..<source.count { destination[i] = source[i] }
    }
}
