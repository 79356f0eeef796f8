import Foundation

/// Lists the keys of a JSON text's top-level object in order, duplicates included (JSON decoders
/// silently keep the last duplicate, but a safetensors header with two equal names is malformed).
/// Values are skipped, not parsed; full validation is left to the real parser.
enum JSONObjectKeys {
    struct Malformed: Error, CustomStringConvertible {
        let offset: Int
        var description: String { "unexpected byte at offset \(offset)" }
    }

    static func topLevel(_ json: Data) throws -> [String] {
        let bytes = [UInt8](json)
        var i = 0
        func skipSpace() { while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }
        func expect(_ c: UInt8) throws { skipSpace(); guard i < bytes.count, bytes[i] == c else { throw Malformed(offset: i) }; i += 1 }
        func string() throws -> String {
            try expect(UInt8(ascii: "\""))
            let start = i - 1
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
            guard i < bytes.count else { throw Malformed(offset: i) }
            i += 1
            guard let s = try? JSONDecoder().decode(String.self, from: Data(bytes[start..<i])) else { throw Malformed(offset: start) }
            return s
        }
        func skipValue() throws {
            skipSpace()
            guard i < bytes.count else { throw Malformed(offset: i) }
            if bytes[i] == UInt8(ascii: "\"") { _ = try string(); return }
            var depth = 0
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "\"") { _ = try string(); continue }
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
                if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") { if depth == 0 { return }; depth -= 1 }
                if c == UInt8(ascii: ","), depth == 0 { return }
                i += 1
            }
        }
        var keys: [String] = []
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { return keys }
        while true {
            keys.append(try string())
            try expect(UInt8(ascii: ":"))
            try skipValue()
            skipSpace()
            guard i < bytes.count else { throw Malformed(offset: i) }
            if bytes[i] == UInt8(ascii: "}") { return keys }
            try expect(UInt8(ascii: ","))
        }
    }
}
