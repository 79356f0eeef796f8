import Foundation
import TestSupport
import XCTest
@testable import BTXStore

/// A remote that lies (issue 15's hostile-remote figure): wrong bytes, a zstd bomb, an oversized
/// action entry, an action entry made for another key. Each is refused and nothing it sent is stored.
final class HostileRemoteTests: LocalHTTPServerTestCase {
    private var refused = 0

    /// A stage (manifest, record for `key`, log) in a scratch store, its files served under `remote/`.
    private func publishStage(key: ObjectHash, recordKey: ObjectHash? = nil) throws -> (ActionEntry, Store, TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        let source = try Store(root: dir.url, report: { _ in })
        let tensor = try source.putTensor((0..<5000).map { Float($0) }, shape: [5000])
        let output = try source.putManifest(Manifest(kind: "model", tensors: ["w": tensor]))
        let record = try source.putRecord(RunRecord(stage: "s", kind: "k", kindVersion: 1, key: recordKey ?? key, start: 0, end: 1,
                                                    host: "h", btxpipeVersion: "0", metrics: [:], log: nil))
        let entry = ActionEntry(output: output, record: record)
        for hash in [tensor.object, output, record] { try serveObject(hash, from: source) }
        try serveFile("remote/actions/v1/\(key.hex)", try JSONValue(encoding: entry).canonicalData)
        return (entry, source, dir)
    }

    private func serveObject(_ hash: ObjectHash, from store: Store, bytes: Data? = nil) throws {
        try serveFile("remote/objects/v1/\(hash.hex.prefix(2))/\(hash.hex)", try bytes ?? Data(contentsOf: store.objectFile(hash)))
    }

    private func serveFile(_ name: String, _ data: Data) throws {
        try FileManager.default.createDirectory(at: server.root.appendingPathComponent("files/" + name).deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        try server.serve(name, data)
    }

    private func pull(_ key: ObjectHash, into store: Store) throws -> ObjectHash? {
        var options = HTTPOptions()
        options.maxRetries = 0
        options.useNetrc = false
        let remote = RemoteStore(config: try RemoteConfig(name: "hostile", url: "\(server.baseURL)/files/remote"), options: options,
                                 verifyAttempts: 1)
        return try RemoteSync(remote: remote, store: store, progress: TransferProgress(direction: "pull") { _ in }).pull(key)
    }

    private func assertRefusedAndNothingStored(_ key: ObjectHash, _ why: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try TemporaryDirectory()
        let local = try Store(root: dir.url, report: { _ in })
        XCTAssertThrowsError(try pull(key, into: local), why, file: file, line: line) { error in
            XCTAssertFalse("\(error)".contains("\n"), file: file, line: line)
        }
        XCTAssertNil(try local.action(key), why, file: file, line: line)
        XCTAssertEqual(local.verify().problems.count, 0, why, file: file, line: line)
        refused += 1
    }

    func testEveryKindOfLieIsRefusedAndNeverStored() throws {
        // Wrong bytes: the tensor's URL serves another object's file.
        let wrong = ObjectHash.of("wrong bytes")
        let (entry, source, keep) = try publishStage(key: wrong)
        let other = try source.putObject(Data("something else entirely".utf8))
        let tensor = try source.manifest(entry.output).tensors["w"]!.object
        try serveObject(tensor, from: source, bytes: try Data(contentsOf: source.objectFile(other)))
        try assertRefusedAndNothingStored(wrong, "wrong bytes")

        // A zstd bomb: a chunk whose frame inflates far beyond the chunk it claims to be.
        let bomb = ObjectHash.of("bomb")
        let (bombEntry, bombSource, keep2) = try publishStage(key: bomb)
        let bombTensor = try bombSource.manifest(bombEntry.output).tensors["w"]!.object
        try serveObject(bombTensor, from: bombSource, bytes: try zstdBomb(claiming: 20_000))
        try assertRefusedAndNothingStored(bomb, "zstd bomb")

        // An oversized action entry (valid JSON after a megabyte of whitespace: only the size cap stops it).
        let big = ObjectHash.of("oversized")
        let (bigEntry, _, keep3) = try publishStage(key: big)
        try serveFile("remote/actions/v1/\(big.hex)", Data(repeating: UInt8(ascii: " "), count: 1 << 20)
                         + (try JSONValue(encoding: bigEntry).canonicalData))
        try assertRefusedAndNothingStored(big, "oversized entry")

        // An action entry made for another key (its record names that key).
        let mine = ObjectHash.of("mine")
        _ = try publishStage(key: mine, recordKey: ObjectHash.of("theirs"))
        try assertRefusedAndNothingStored(mine, "entry for another key")

        withExtendedLifetime((keep, keep2, keep3)) {}
        if ProcessInfo.processInfo.environment["BTXPIPE_SOAK"] != nil {
            print(#"{"figure":"hostile-remote","lies":4,"refused":\#(refused),"stored":0}"#)
        }
    }

    /// An object file whose one chunk is a zstd frame of 64 MiB of zeros, under a header claiming
    /// `claiming` bytes (within what its file size allows, so only decompression can catch it).
    private func zstdBomb(claiming length: Int) throws -> Data {
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 20, alignment: 64)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        var frame = [UInt8](repeating: 0, count: ZstdPool.bound(64 << 20))
        let n = try XCTUnwrap(frame.withUnsafeMutableBytes { ZstdPool(level: 3).compress(UnsafeRawBufferPointer(zeros), into: $0) })
        var out = Data(ObjectHeader(elementSize: 1, length: length, chunkSize: 1 << 20).bytes)
        withUnsafeBytes(of: UInt32(n).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: frame[0..<n])
        return out
    }
}
