/// Token embedding lookup: `out[N, C] = table[tokens[n], :]`. Tokens must be in `0..<V`
/// (callers validate user data before it reaches a kernel).
@inline(__always)
public func embeddingForward(_ out: UnsafeMutablePointer<Float>, _ tokens: UnsafePointer<Int32>,
                             _ table: UnsafePointer<Float>, _ N: Int, _ C: Int) {
    // out:    [N, C]
    // tokens: [N]
    // table:  [V, C]
    for n in 0..<N {
        (out + n * C).update(from: table + Int(tokens[n]) * C, count: C)
    }
}

/// Backward of `embeddingForward`: `dtable[tokens[n], :] += dout[n, :]`, rows in order (a token
/// that repeats sums its rows in a fixed order, so the result is reproducible).
@inline(__always)
public func embeddingBackward(_ dtable: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                              _ tokens: UnsafePointer<Int32>, _ N: Int, _ C: Int) {
    // dtable: [V, C]
    // dout:   [N, C]
    for n in 0..<N {
        let row = dtable + Int(tokens[n]) * C
        let src = dout + n * C
        for c in 0..<C { row[c] += src[c] }
    }
}
