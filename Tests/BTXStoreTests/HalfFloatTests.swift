import XCTest
@testable import BTXStore

final class HalfFloatTests: XCTestCase {
    func testF16ToFloatMatchesFloat16ForEveryBitPattern() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let actual = HalfFloat.f16ToFloat(bits)
            XCTAssert(expected.bitPattern == actual.bitPattern || (expected.isNaN && actual.isNaN), "\(bits)")
        }
    }

    func testFloatToF16RoundsLikeFloat16() {
        var state: UInt64 = 1
        var samples: [Float] = [0, -0, 65504, 65519, 65520, 1e9, -1e9, 6e-8, 3e-8, 2.98e-8, 6.1e-5, .infinity, 1.0009765625]
        for _ in 0..<200_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            samples.append(Float(bitPattern: UInt32(truncatingIfNeeded: state >> 32) & 0xC7FF_FFFF))  // |x| < 2^17 mostly
        }
        for x in samples where !x.isNaN {
            XCTAssertEqual(HalfFloat.floatToF16(x), Float16(x).bitPattern, "\(x)")
        }
        XCTAssert(HalfFloat.f16ToFloat(HalfFloat.floatToF16(.nan)).isNaN)
    }

    func testBF16RoundTripIsExactAndRoundsToNearestEven() {
        for bits in stride(from: 0, through: Int(UInt16.max), by: 1) where (bits & 0x7F80) != 0x7F80 {
            XCTAssertEqual(HalfFloat.floatToBF16(HalfFloat.bf16ToFloat(UInt16(bits))), UInt16(bits))
        }
        XCTAssertEqual(HalfFloat.floatToBF16(Float(bitPattern: 0x3F80_8000)), 0x3F80)   // tie → even
        XCTAssertEqual(HalfFloat.floatToBF16(Float(bitPattern: 0x3F81_8000)), 0x3F82)   // tie → even (up)
        XCTAssertEqual(HalfFloat.floatToBF16(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssert(HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(.nan)).isNaN)
    }

    func testShuffleIsInvertedByUnshuffle() {
        for size in [2, 3, 4, 8] {
            let bytes = weightLikeBytes(count: 1003, seed: UInt64(size))
            var planes = [UInt8](repeating: 0, count: bytes.count), back = planes
            bytes.withUnsafeBytes { s in planes.withUnsafeMutableBytes { ByteShuffle.shuffle(s, into: $0, elementSize: size) } }
            planes.withUnsafeBytes { s in back.withUnsafeMutableBytes { ByteShuffle.unshuffle(s, into: $0, elementSize: size) } }
            XCTAssertEqual(back, bytes)
            XCTAssertNotEqual(planes, bytes)
            XCTAssertEqual(planes[1], bytes[size])   // plane 0 holds byte 0 of each element
        }
    }
}
