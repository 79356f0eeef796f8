import BTXStore
import Foundation
import TestSupport
import XCTest

/// Writes a safetensors file of `count` u8/f32 tensors of `tensorBytes` each, weight-like content.
private func writeSafetensors(_ url: URL, count: Int, tensorBytes: Int, seed: UInt64 = 1) throws {
    var header: [String] = [], data = Data(capacity: count * tensorBytes)
    var state = seed
    var chunk = [UInt8](repeating: 0, count: tensorBytes)
    for i in 0..<count {
        for j in 0..<tensorBytes {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            chunk[j] = j % 4 == 3 ? 0x3C : UInt8(truncatingIfNeeded: state >> 33)
        }
        header.append("\"t\(i)\":{\"dtype\":\"F32\",\"shape\":[\(tensorBytes / 4)],\"data_offsets\":[\(i * tensorBytes),\((i + 1) * tensorBytes)]}")
        data.append(contentsOf: chunk)
    }
    let json = Data(("{\"__metadata__\":{\"format\":\"pt\"}," + header.joined(separator: ",") + "}").utf8)
    var out = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    try (out + json + data).write(to: url)
}

final class StoreCommandTests: XCTestCase {
    private func btx(_ arguments: [String], in dir: TemporaryDirectory, file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try BTXPipeBinary.run(arguments, in: dir.url)
        XCTAssertEqual(result.status, 0, "btxpipe \(arguments.joined(separator: " ")): \(result.stderr)", file: file, line: line)
        return result
    }

    func testPutShowGetGiveBackAByteIdenticalSafetensorsFile() throws {
        let dir = try TemporaryDirectory()
        try writeSafetensors(dir.url.appendingPathComponent("model.safetensors"), count: 3, tensorBytes: 4000)
        let put = try btx(["store", "put", "model.safetensors"], in: dir)
        let hash = String(put.stdout.prefix(64))
        XCTAssertNotNil(ObjectHash(hex: hash), put.stdout)
        let show = try btx(["store", "show", String(hash.prefix(10))], in: dir)
        XCTAssert(show.stdout.contains("kind:    safetensors"), show.stdout)
        XCTAssert(show.stdout.contains("t2") && show.stdout.contains("f32") && show.stdout.contains("[1000]"), show.stdout)
        XCTAssert(show.stdout.contains("format: \"pt\""), show.stdout)
        _ = try btx(["store", "get", hash, "back.safetensors"], in: dir)
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        XCTAssertEqual(try store.importSafetensors(dir.url.appendingPathComponent("back.safetensors")), try store.manifest(ObjectHash(hex: hash)!))
        XCTAssert(try btx(["store", "ls"], in: dir).stdout.contains("actions (0)"))
        XCTAssert(try btx(["store", "du"], in: dir).stdout.contains("objects: 4"))
    }

    func testShardedGetWritesAnIndexThatPutReadsBack() throws {
        let dir = try TemporaryDirectory()
        try writeSafetensors(dir.url.appendingPathComponent("model.safetensors"), count: 4, tensorBytes: 400_000)
        let hash = String(try btx(["store", "put", "--pin", "m", "model.safetensors"], in: dir).stdout.prefix(64))
        _ = try btx(["store", "get", "--shard-size", "1", "pin/m", "sharded"], in: dir)
        let again = try btx(["store", "put", "sharded/model.safetensors.index.json"], in: dir)
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        XCTAssertEqual(try store.manifest(ObjectHash(hex: String(again.stdout.prefix(64)))!).tensors,
                       try store.manifest(ObjectHash(hex: hash)!).tensors)
    }

    func testMalformedSafetensorsGivesOneLineErrorNamingTheFile() throws {
        let dir = try TemporaryDirectory()
        var bytes = Data()
        withUnsafeBytes(of: UInt64(1000).littleEndian) { bytes.append(contentsOf: $0) }
        try (bytes + Data("{}".utf8)).write(to: dir.url.appendingPathComponent("bad.safetensors"))
        let result = try BTXPipeBinary.run(["store", "put", "bad.safetensors"], in: dir.url)
        XCTAssertNotEqual(result.status, 0)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr)
        XCTAssert(result.stderr.contains("bad.safetensors") && result.stderr.contains("past the end"), result.stderr)
    }

    func testVerifyListsEveryCorruptObjectAndExitsNonZero() throws {
        let dir = try TemporaryDirectory()
        for name in ["a", "b", "c"] { try Data(repeating: UInt8(name.utf8.first!), count: 3000).write(to: dir.url.appendingPathComponent(name)) }
        let hashes = try btx(["store", "put", "a", "b", "c"], in: dir).stdout.split(separator: "\n").map { String($0.prefix(64)) }
        XCTAssert(try btx(["store", "verify"], in: dir).stdout.contains("all good"))
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        let paths = [hashes[0], hashes[2]].map { store.root.path + "/objects/v1/\($0.prefix(2))/\($0)" }
        for path in paths {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[bytes.count - 2] ^= 0x20
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        let result = try BTXPipeBinary.run(["store", "verify"], in: dir.url)
        XCTAssertEqual(result.status, 1)
        for path in paths { XCTAssert(result.stdout.contains("BAD \(path)"), result.stdout) }
        XCTAssertFalse(result.stdout.contains(hashes[1]))
    }

    func testGcFreesOnlyWithYesAndKeepsPinnedManifests() throws {
        let dir = try TemporaryDirectory()
        try writeSafetensors(dir.url.appendingPathComponent("kept.safetensors"), count: 2, tensorBytes: 4000, seed: 1)
        try writeSafetensors(dir.url.appendingPathComponent("loose.safetensors"), count: 2, tensorBytes: 4000, seed: 2)
        _ = try btx(["store", "put", "--pin", "kept", "kept.safetensors"], in: dir)
        _ = try btx(["store", "put", "loose.safetensors"], in: dir)
        XCTAssert(try btx(["store", "gc", "--grace", "0"], in: dir).stdout.contains("would free 3 objects"))
        XCTAssert(try btx(["store", "gc", "--grace", "0", "--yes"], in: dir).stdout.contains("freed 3 objects"))
        XCTAssert(try btx(["store", "gc", "--grace", "0"], in: dir).stdout.contains("would free 0 objects"))
        _ = try btx(["store", "get", "pin/kept", "out.safetensors"], in: dir)
        XCTAssert(try btx(["store", "verify"], in: dir).stdout.contains("all good"))
    }

    func testTwoProcessesPuttingTheSameHundredFilesLeaveAVerifiedStore() throws {
        let dir = try TemporaryDirectory()
        var names: [String] = []
        for i in 0..<100 {
            names.append("f\(i)")
            try Data((0..<(1000 + 97 * i)).map { UInt8(truncatingIfNeeded: $0 * (i + 1) / 7) }).write(to: dir.url.appendingPathComponent("f\(i)"))
        }
        var results = [CommandResult?](repeating: nil, count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            results[k] = try? BTXPipeBinary.run(["store", "put"] + (k == 0 ? names : names.reversed()), in: dir.url)
        }
        for r in results { XCTAssertEqual(r?.status, 0, r?.stderr ?? "did not run") }
        XCTAssertEqual(Set(results[0]!.stdout.split(separator: "\n")), Set(results[1]!.stdout.split(separator: "\n")))
        let verify = try btx(["store", "verify"], in: dir)
        XCTAssert(verify.stdout.contains("checked 100 files: all good"), verify.stdout)
        XCTAssert(try btx(["store", "du"], in: dir).stdout.contains("stray:   0 files"))
    }

    func testKillNineDuringALargePutLeavesAVerifiedStoreAndARerunCompletes() throws {
        let dir = try TemporaryDirectory()
        try writeSafetensors(dir.url.appendingPathComponent("big.safetensors"), count: 50, tensorBytes: 4 << 20)  // 200 MiB
        let process = Process()
        process.executableURL = BTXPipeBinary.url
        process.arguments = ["store", "put", "big.safetensors"]
        process.currentDirectoryURL = dir.url
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Kill once some objects are in place, i.e. in the middle of the put.
        let shards = dir.url.appendingPathComponent("store/objects/v1").path
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? FileManager.default.contentsOfDirectory(atPath: shards)) ?? []).filter({ $0.count == 2 }).count < 3 {
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the put finished before it could be killed")
        let verify = try btx(["store", "verify"], in: dir)
        XCTAssert(verify.stdout.contains("all good"), verify.stdout)
        let hash = String(try btx(["store", "put", "big.safetensors"], in: dir).stdout.prefix(64))
        XCTAssert(try btx(["store", "verify"], in: dir).stdout.contains("checked 51 files: all good"))
        _ = try btx(["store", "get", hash, "back.safetensors"], in: dir)
        let store = try Store(root: dir.url.appendingPathComponent("store"))
        XCTAssertEqual(try store.importSafetensors(dir.url.appendingPathComponent("back.safetensors")).tensors.count, 50)
    }
}
