import Foundation

// The GGUF container as llama.cpp defines it (ggml/include/gguf.h, docs/gguf.md; the `gguf` Python
// package's constants.py): little-endian throughout.
//
//   magic "GGUF" · version u32 (2 or 3) · tensor count u64 · metadata count u64
//   metadata: key (string) · value type u32 · value
//   tensor infos: name (string) · n_dims u32 · dims u64 × n_dims (ne0 first: the fastest-varying,
//                 i.e. the *last* dimension of the row-major shape btxpipe uses) · ggml type u32 ·
//                 offset u64 (from the start of the data section, a multiple of the alignment)
//   padding to `general.alignment` (default 32) · data section
//
// A string is a u64 byte count then UTF-8 bytes; an array is an element type u32, a count u64, then
// the elements.

/// Constants of the GGUF container.
enum GGUF {
    /// "GGUF" read as a little-endian u32.
    static let magic: UInt32 = 0x4655_4747
    /// The versions read (v1 used 32-bit counts and is refused); v3 is what is written.
    static let readableVersions: ClosedRange<UInt32> = 2...3
    static let writtenVersion: UInt32 = 3
    /// Alignment of the data section and of every tensor in it, unless `general.alignment` says otherwise.
    static let defaultAlignment = 32
}

/// The type of a metadata value (gguf.h `enum gguf_type`).
enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12
}

/// One metadata value. Integers keep their declared width so that a file rewritten by btxpipe
/// declares the same types llama.cpp's converter writes.
indirect enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    /// A homogeneous array: the element type, then the elements (each of that type).
    case array(GGUFValueType, [GGUFValue])

    /// The value type written before this value.
    var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    /// Any integer value widened to Int (nil for other types or a u64 beyond Int.max).
    var intValue: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// A float value (f32 or f64) as Double.
    var doubleValue: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return nil
        }
    }

    var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
    var boolValue: Bool? { if case let .bool(b) = self { return b } else { return nil } }
    var arrayValue: [GGUFValue]? { if case let .array(_, a) = self { return a } else { return nil } }
}

/// A tensor's element type (ggml.h `enum ggml_type`). Quantized types store `blockSize` elements in
/// `typeSize` bytes; the rest are one element per block.
enum GGMLType: UInt32, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39

    /// ggml's own name ("q4_K", "bf16"), for messages and metadata.
    var name: String { "\(self)" }

    /// Elements per block (ggml's `blck_size`), for the types btxpipe reads or writes.
    var blockSize: Int? {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: return 256
        default: return nil
        }
    }

    /// Bytes per block (ggml's `type_size`), for the types btxpipe reads or writes.
    var typeSize: Int? {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 2 + 16            // d (f16), 32 × 4-bit
        case .q4_1: return 2 + 2 + 16        // d, m (f16), 32 × 4-bit
        case .q5_0: return 2 + 4 + 16        // d, high bits, 32 × 4-bit
        case .q5_1: return 2 + 2 + 4 + 16    // d, m, high bits, 32 × 4-bit
        case .q8_0: return 2 + 32            // d, 32 × int8
        case .q8_1: return 2 + 2 + 32        // d, s, 32 × int8
        case .q2_K: return 256 / 16 + 256 / 4 + 2 + 2
        case .q3_K: return 256 / 8 + 256 / 4 + 12 + 2
        case .q4_K: return 2 + 2 + 12 + 256 / 2
        case .q5_K: return 2 + 2 + 12 + 256 / 8 + 256 / 2
        case .q6_K: return 256 / 2 + 256 / 4 + 256 / 16 + 2
        case .q8_K: return 4 + 256 + 256 / 16 * 2
        default: return nil
        }
    }

    /// Bytes of `count` elements, or nil when the type is unsupported or `count` is not whole blocks.
    func byteCount(elements count: Int) -> Int? {
        guard let block = blockSize, let size = typeSize, count >= 0, count % block == 0 else { return nil }
        let (bytes, overflow) = (count / block).multipliedReportingOverflow(by: size)
        return overflow ? nil : bytes
    }
}

/// One tensor's entry in a GGUF file: name, row-major shape (btxpipe's order: the reverse of
/// GGUF's `ne`), element type and byte offset from the start of the data section.
struct GGUFTensorInfo: Equatable, Sendable {
    var name: String
    var shape: [Int]
    var type: GGMLType
    var offset: Int

    /// Elements in the tensor.
    var elementCount: Int { shape.reduce(1, *) }

    /// Bytes of its data in the file (0 for a type without a known block size).
    var byteCount: Int { type.byteCount(elements: elementCount) ?? 0 }
}
