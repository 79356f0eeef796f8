@testable import BTXTensor
import Foundation
import XCTest

/// `ZeroedMemory`: zeroed blocks, large ones mapped on 2 MiB boundaries in huge pages.
final class ZeroedMemoryTests: XCTestCase {
    func testSmallAndLargeBlocksAreZeroedAndWritable() {
        for count in [1, 7, 1000, (2 << 20) / 4 - 1, (2 << 20) / 4, 3_000_001] {
            let p = ZeroedMemory.allocate(Float.self, count: count)
            XCTAssertEqual(p[0], 0)
            XCTAssertEqual(p[count - 1], 0)
            XCTAssertEqual(UnsafeBufferPointer(start: p, count: count).max(), 0, "count \(count)")
            p[count - 1] = 3
            p[0] = 1
            XCTAssertEqual(p[count - 1] + p[0], count == 1 ? 2 : 4)
            ZeroedMemory.deallocate(p, count: count)
        }
    }

    func testLargeBlocksStartOnAHugePageBoundaryAndAreAdvisedForHugePages() throws {
        let count = 3 * (2 << 20) / 4 + 5  // three huge pages and a bit
        let p = ZeroedMemory.allocate(Float.self, count: count)
        defer { ZeroedMemory.deallocate(p, count: count) }
        XCTAssertEqual(Int(bitPattern: p) % (2 << 20), 0)
        // /proc/self/smaps lists the mapping holding the block (the kernel may merge it with a
        // neighbour of the same kind) with the `hg` (huge pages advised) flag.
        // NOTE: read to the end: /proc files report size 0.
        let smaps = try XCTUnwrap(try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd())
        let lines = String(decoding: smaps, as: UTF8.self).components(separatedBy: "\n")
        let address = UInt(bitPattern: Int(bitPattern: p))
        let header = try XCTUnwrap(lines.firstIndex { line in
            let range = line.split(separator: " ").first?.split(separator: "-").compactMap { UInt($0, radix: 16) } ?? []
            return range.count == 2 && range[0] <= address && address < range[1]
        }, "no mapping holds \(String(address, radix: 16))")
        let flags = try XCTUnwrap(lines[(header + 1)...].first { $0.hasPrefix("VmFlags:") })
        XCTAssertTrue(flags.contains(" hg"), flags)
    }

    func testFreedLargeBlocksLeaveTheProcess() throws {
        let count = 64 << 20 / 4
        let p = ZeroedMemory.allocate(Float.self, count: count)
        p.update(repeating: 1, count: count)
        let touched = ProcessStatus.mebibytes("VmRSS:")
        ZeroedMemory.deallocate(p, count: count)
        XCTAssertLessThan(ProcessStatus.mebibytes("VmRSS:"), touched - 48, "64 MiB written, then freed")
    }
}
