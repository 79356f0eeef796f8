@testable import BTXPipeline
import BTXStore
import Foundation
import TestSupport
import XCTest

final class StageLockTests: XCTestCase {
    private let key = ObjectHash.of("some stage key")

    private func acquire(_ dir: TemporaryDirectory, stage: String = "s") throws -> StageLock? {
        if case .acquired(let lock) = try StageLock.tryAcquire(store: dir.url, key: key, stage: stage) { return lock }
        return nil
    }

    func testSecondHolderIsRefusedAndToldWhoHoldsIt() throws {
        let dir = try TemporaryDirectory()
        let first = try XCTUnwrap(acquire(dir, stage: "train[code]"))
        guard case .busy(let holder) = try StageLock.tryAcquire(store: dir.url, key: key, stage: "x") else {
            return XCTFail("second acquire succeeded")
        }
        XCTAssertEqual(holder?.stage, "train[code]")
        XCTAssertEqual(holder?.pid, getpid())
        XCTAssertTrue(StageLock.isHeld(first.path))
        XCTAssertFalse(StageLock.removeIfStale(first.path))
        first.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: first.path))
        XCTAssertNil(try acquire(dir)?.staleHolder)
    }

    func testLockLeftByADeadProcessIsTakenOverAndNamed() throws {
        let dir = try TemporaryDirectory()
        let path = StageLock.path(store: dir.url, key: key)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        let dead = LockHolder(stage: "train[math]", host: "h", pid: 999_999, start: 0)
        try JSONEncoder().encode(dead).write(to: URL(fileURLWithPath: path))
        XCTAssertFalse(StageLock.isHeld(path))
        let lock = try XCTUnwrap(acquire(dir))
        XCTAssertEqual(lock.staleHolder, dead)
        XCTAssertEqual("\(dead)", "train[math] (host h, pid 999999, since 1970-01-01T00:00:00Z)")
    }

    func testUnlockRemovesOnlyStaleLocks() throws {
        let dir = try TemporaryDirectory()
        let path = StageLock.path(store: dir.url, key: key)
        let lock = try XCTUnwrap(acquire(dir))
        XCTAssertFalse(StageLock.removeIfStale(path))
        close(open(path, O_RDONLY))
        lock.release()
        FileManager.default.createFile(atPath: path, contents: Data("{}".utf8))
        XCTAssertTrue(StageLock.removeIfStale(path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
