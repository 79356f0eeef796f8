import Foundation

/// A JSON text → `JSONValue` parser over the UTF-8 bytes (RFC 8259).
///
/// NOTE: decoding `JSONValue` through `JSONDecoder` tries Bool, Int64, Double and String in turn, a
/// thrown error (with its coding path) for every miss: a 2 MB tokenizer.json took ~1.2 s of CPU, most
/// of `generate`'s start-up. This parser reads each value once. Numbers follow the decoder: an
/// integral value that fits Int64 (`1`, `1.0`, `1e2`) is `.int`, any other `.double`.
struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0

    /// Parses the whole of `data` as one JSON value.
    static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var parser = JSONParser(bytes: raw.bindMemory(to: UInt8.self))
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.i == parser.bytes.count else { throw parser.error("end of input") }
            return value
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func error(_ expected: String) -> Error {
        DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "JSON: expected \(expected) at byte \(i)"))
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws -> JSONValue {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count, memcmp(bytes.baseAddress! + i, word.utf8Start, n) == 0 else { throw error("\(word)") }
        i += n
        return value
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw error("nesting below 512 levels") }
        skipSpace()
        guard i < bytes.count else { throw error("a value") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return try number()
        }
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        i += 1
        var out: [String: JSONValue] = [:]
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("a key string") }
            let keyStart = i
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("':'") }
            i += 1
            // Duplicate keys are refused, as JSONDecoder does: which value counts would be a guess.
            guard out.updateValue(try value(depth: depth + 1), forKey: key) == nil else {
                i = keyStart
                throw error("a key not already in the object")
            }
            skipSpace()
            guard i < bytes.count else { throw error("',' or '}'") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "}") else { throw error("',' or '}'") }
            i += 1
            return .object(out)
        }
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        i += 1
        var out: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
        while true {
            out.append(try value(depth: depth + 1))
            skipSpace()
            guard i < bytes.count else { throw error("',' or ']'") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            guard bytes[i] == UInt8(ascii: "]") else { throw error("',' or ']'") }
            i += 1
            return .array(out)
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("4 hex digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw error("a hex digit")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func string() throws -> String {
        i += 1  // the opening quote
        let start = i
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
        guard i < bytes.count else { throw error("a closing quote") }
        if bytes[i] == UInt8(ascii: "\"") {  // the common case: no escapes
            defer { i += 1 }
            return try validated(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        }
        var out = Array(bytes[start..<i])
        while true {
            guard i < bytes.count else { throw error("a closing quote") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; return try out.withUnsafeBufferPointer { try validated($0) } }
            guard c >= 0x20 else { throw error("no control character in a string") }
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw error("an escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {  // a surrogate pair
                    guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw error("a low surrogate")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("a low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("a valid \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw error("a valid escape")
            }
        }
    }

    private func digit(at index: Int) -> Bool {
        index < bytes.count && bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9")
    }

    /// Skips a run of digits; true when there was at least one.
    @discardableResult
    private mutating func skipDigits() -> Bool {
        let first = i
        while digit(at: i) { i += 1 }
        return i > first
    }

    private func validated(_ utf8: UnsafeBufferPointer<UInt8>) throws -> String {
        guard let s = String(validating: utf8, as: UTF8.self) else { throw error("valid UTF-8") }
        return s
    }

    /// A number of RFC 8259's grammar, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, nothing laxer
    /// (no `+1`, `01`, `.5` or `5.`).
    private mutating func number() throws -> JSONValue {
        let start = i
        var integral = true
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(at: i) else { throw error("a value") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            guard !digit(at: i) else { throw error("a number without leading zeros") }
        } else {
            skipDigits()
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            integral = false
            guard skipDigits() else { throw error("digits after the decimal point") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            integral = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard skipDigits() else { throw error("digits in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        if integral, let v = Int64(text) { return .int(v) }
        guard let d = Double(text), d.isFinite else { throw error("a number") }
        if let v = Int64(exactly: d) { return .int(v) }
        return .double(d)
    }
}
