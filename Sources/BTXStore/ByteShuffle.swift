/// Blosc-style byte shuffling: for elements of `size` bytes, byte j of every element goes to plane j.
/// The exponent bytes of floats then sit together and compress far better than interleaved.
/// Trailing bytes that do not fill an element are copied unchanged.
enum ByteShuffle {
    /// Splits `source` into planes in `destination` (same count).
    static func shuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize size: Int) {
        precondition(source.count == destination.count)
        let n = source.count / size
        let src = source.bindMemory(to: UInt8.self), dst = destination.bindMemory(to: UInt8.self)
        switch size {
        case 2:
            for e in 0..<n { dst[e] = src[2 * e]; dst[n + e] = src[2 * e + 1] }
        case 4:
            for e in 0..<n {
                dst[e] = src[4 * e]; dst[n + e] = src[4 * e + 1]
                dst[2 * n + e] = src[4 * e + 2]; dst[3 * n + e] = src[4 * e + 3]
            }
        default:
            for e in 0..<n { for j in 0..<size { dst[j * n + e] = src[e * size + j] } }
        }
        for i in (n * size)..<source.count { dst[i] = src[i] }
    }

    /// Inverse of `shuffle`.
    static func unshuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize size: Int) {
        precondition(source.count == destination.count)
        let n = source.count / size
        let src = source.bindMemory(to: UInt8.self), dst = destination.bindMemory(to: UInt8.self)
        switch size {
        case 2:
            for e in 0..<n { dst[2 * e] = src[e]; dst[2 * e + 1] = src[n + e] }
        case 4:
            for e in 0..<n {
                dst[4 * e] = src[e]; dst[4 * e + 1] = src[n + e]
                dst[4 * e + 2] = src[2 * n + e]; dst[4 * e + 3] = src[3 * n + e]
            }
        default:
            for e in 0..<n { for j in 0..<size { dst[e * size + j] = src[j * n + e] } }
        }
        for i in (n * size)..<source.count { dst[i] = src[i] }
    }
}
