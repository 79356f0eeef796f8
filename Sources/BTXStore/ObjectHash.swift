import Crypto
import Foundation

/// The name of a stored object: the SHA-256 of its uncompressed content, as 64 lowercase hex digits.
/// Also used for stage keys, which are SHA-256 digests too. Validated on construction, so a hash can
/// always be turned into a path or URL safely.
public struct ObjectHash: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    /// 64 lowercase hexadecimal digits.
    public let hex: String

    /// Accepts exactly 64 lowercase hex digits; anything else is `nil`.
    public init?(hex: String) {
        guard hex.utf8.count == 64,
              hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else { return nil }
        self.hex = hex
    }

    init(digest: SHA256.Digest) {
        // NOTE: by hand, not String(format:): a no-op rerun hashes thousands of keys and file stamps,
        // and Foundation's formatter was 8% of its time.
        hex = digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: 2 * bytes.count) { out in
                for (i, byte) in bytes.enumerated() {
                    out[2 * i] = ObjectHash.hexDigits[Int(byte >> 4)]
                    out[2 * i + 1] = ObjectHash.hexDigits[Int(byte & 15)]
                }
                return 2 * bytes.count
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The hash of `bytes`.
    public static func of(_ bytes: Data) -> ObjectHash { ObjectHash(digest: SHA256.hash(data: bytes)) }

    /// The hash of `bytes`.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> ObjectHash { ObjectHash(digest: SHA256.hash(data: bytes)) }

    /// The hash of a string's UTF-8 bytes.
    public static func of(_ text: String) -> ObjectHash { of(Data(text.utf8)) }

    /// The first 12 digits, for humans.
    public var short: String { String(hex.prefix(12)) }

    public var description: String { hex }

    public static func < (a: ObjectHash, b: ObjectHash) -> Bool { a.hex < b.hex }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let hash = ObjectHash(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "expected 64 lowercase hex digits, got \"\(text.prefix(80))\""))
        }
        self = hash
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// Incremental SHA-256 for streams (big tensors, downloads).
public struct StreamingHasher {
    private var hasher = SHA256()
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    public mutating func update(_ bytes: Data) { hasher.update(data: bytes) }
    public func finalize() -> ObjectHash { ObjectHash(digest: hasher.finalize()) }
}
