@testable import BTXStore
import Foundation
import TestSupport
import XCTest

/// Push/pull through real servers on 127.0.0.1: nginx with WebDAV PUT, and a fault-injecting store
/// server (500s, cut bodies, wrong bytes, slow answers, redirects to another host).
final class RemoteStoreTests: XCTestCase {
    private var dir: TemporaryDirectory!

    override func setUpWithError() throws { dir = try TemporaryDirectory() }
    override func tearDown() { dir = nil }

    private func store(_ name: String) throws -> Store {
        try Store(root: dir.url.appendingPathComponent(name), report: { _ in })
    }

    private func options(idleTimeout: Double = 30) -> HTTPOptions {
        var options = HTTPOptions()
        options.maxRetries = 3
        options.backoff = 0.01
        options.idleTimeout = idleTimeout
        options.useNetrc = false
        return options
    }

    private func sync(_ store: Store, _ url: String, readOnly: Bool = false, idleTimeout: Double = 30) throws -> RemoteSync {
        let remote = RemoteStore(config: try RemoteConfig(name: "test", url: url, readOnly: readOnly),
                                 options: options(idleTimeout: idleTimeout))
        return RemoteSync(remote: remote, store: store, parallel: 4, progress: TransferProgress(direction: "test", report: nil))
    }

    /// A finished stage in `store`: two tensors (one big enough for several chunks), a text object,
    /// the manifest, a run record with a log, and the action entry. Returns its key and manifest.
    private func finishedStage(in store: Store, seed: UInt64 = 1) throws -> (key: ObjectHash, output: ObjectHash) {
        var state = seed
        let big = (0..<700_000).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 1000) / 1000
        }
        let a = try store.putTensor(big, shape: [700, 1000])
        let b = try store.putTensor([1, 2, 3, Float(seed)], shape: [4])
        let text = try store.putObject(Data("notes \(seed)".utf8))
        let output = try store.putManifest(Manifest(kind: "model", tensors: ["a": a, "b": b], objects: ["notes": text]))
        let key = ObjectHash.of("stage \(seed)")
        let log = try store.putObject(Data("log of \(seed)\n".utf8))
        let record = try store.putRecord(RunRecord(stage: "s", kind: "k", kindVersion: 1, key: key, start: 0, end: 1,
                                                   host: "h", btxpipeVersion: "t", metrics: [:], log: log))
        try store.recordAction(key, ActionEntry(output: output, record: record))
        return (key, output)
    }

    private func assertSameStage(_ key: ObjectHash, _ a: Store, _ b: Store, file: StaticString = #filePath, line: UInt = #line) throws {
        let entry = try XCTUnwrap(try a.action(key), file: file, line: line)
        XCTAssertEqual(try b.action(key), entry, file: file, line: line)
        let manifest = try a.manifest(entry.output)
        for hash in manifest.referencedObjects { XCTAssertEqual(try b.object(hash), try a.object(hash), file: file, line: line) }
    }

    func testPushThenPullThroughNginxGivesTheSameStage() throws {
        let nginx = try NginxServer(root: dir.url.appendingPathComponent("nginx"))
        let (source, target) = (try store("a"), try store("b"))
        let (key, output) = try finishedStage(in: source)
        let url = "\(nginx.baseURL)/btx"
        XCTAssertNil(try sync(target, url).pull(key), "nothing there yet")
        guard case .published(let sent)? = try? sync(source, url).push(key) else { return XCTFail("push did not publish") }
        XCTAssertEqual(sent, 6, "manifest, 2 tensors, text, record, log")
        XCTAssertEqual(try sync(source, url).push(key), .present, "a second push sends nothing")
        let served = nginx.root.appendingPathComponent("www/btx/objects/v1/\(output.hex.prefix(2))/\(output.hex)")
        XCTAssertEqual(try Data(contentsOf: served), try Data(contentsOf: source.objectFile(output)), "the on-disk object file")
        XCTAssertEqual(try sync(target, url).pull(key), output)
        try assertSameStage(key, source, target)
    }

    func testCheckpointsMoveThroughNginxAndAFileRemoteWithTheirObjects() throws {
        let nginx = try NginxServer(root: dir.url.appendingPathComponent("nginx"))
        for url in ["\(nginx.baseURL)/btx", "file://" + dir.path("shared")] {
            let (source, target) = (try store("a"), try store("b-\(url.count)"))
            let (_, output) = try finishedStage(in: source)
            let key = ObjectHash.of("interrupted stage")
            XCTAssertNil(try sync(target, url).pullCheckpoint(key), "no checkpoint yet at \(url)")
            try sync(source, url).pushCheckpoint(key, manifest: output)
            XCTAssertEqual(try sync(target, url).pullCheckpoint(key), output)
            for hash in try source.manifest(output).referencedObjects { XCTAssertEqual(try target.object(hash), try source.object(hash)) }
            XCTAssertThrowsError(try sync(source, url, readOnly: true).pushCheckpoint(key, manifest: output)) {
                XCTAssertTrue("\($0)".contains("read-only"))
            }
        }
    }

    func testConcurrentPushesOfTheSameStageFromTwoProcessesAreHarmless() throws {
        let nginx = try NginxServer(root: dir.url.appendingPathComponent("nginx"))
        let (first, second, reader) = (try store("a"), try store("b"), try store("c"))
        let (key, _) = try finishedStage(in: first)
        _ = try finishedStage(in: second)
        let url = "\(nginx.baseURL)/btx"
        var errors: [Error?] = [nil, nil]
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            do { try sync(i == 0 ? first : second, url).push(key) } catch { errors[i] = error }
        }
        XCTAssertNil(errors[0] ?? errors[1])
        XCTAssertNotNil(try sync(reader, url).pull(key))
        try assertSameStage(key, first, reader)
    }

    func testReadOnlyRemoteRefusesPushButPulls() throws {
        let nginx = try NginxServer(root: dir.url.appendingPathComponent("nginx"))
        let source = try store("a")
        let (key, _) = try finishedStage(in: source)
        XCTAssertThrowsError(try sync(source, nginx.baseURL, readOnly: true).push(key)) { error in
            XCTAssertEqual(error as? RemoteError, .readOnly(remote: "test"))
        }
        XCTAssertNil(try sync(try store("b"), nginx.baseURL, readOnly: true).pull(key))
    }

    // MARK: faults (fault_store_server.py)

    private func faultServer() throws -> (LocalHTTPServer, Store, ObjectHash) {
        let script = LocalHTTPServer.defaultScript.deletingLastPathComponent().appendingPathComponent("fault_store_server.py")
        let server = try LocalHTTPServer(root: dir.url.appendingPathComponent("faults"), script: script)
        let source = try store("source")
        let (key, _) = try finishedStage(in: source)
        try sync(source, "\(server.baseURL)/ok").push(key)
        return (server, source, key)
    }

    func testServerErrorsCutBodiesAndSlowAnswersAreRetriedAndTheStageArrivesIntact() throws {
        let (server, source, key) = try faultServer()
        for mode in ["flaky", "cut", "slow", "wrongonce"] {
            let target = try store("target-\(mode)")
            XCTAssertNotNil(try sync(target, "\(server.baseURL)/\(mode)", idleTimeout: 1).pull(key), mode)
            try assertSameStage(key, source, target)
        }
        let resumed = server.requests.filter { $0.hasPrefix("GET /cut/objects") && !$0.hasSuffix(" -") }
        XCTAssertFalse(resumed.isEmpty, "a cut object download resumes with Range")
    }

    func testWrongBytesAreRejectedAndNeverStored() throws {
        let (server, _, key) = try faultServer()
        let target = try store("target")
        XCTAssertThrowsError(try sync(target, "\(server.baseURL)/wrong").pull(key)) { error in
            XCTAssertTrue("\(error)".contains("did not verify after 3 attempt(s)"), "\(error)")
        }
        XCTAssertNil(try target.action(key))
        XCTAssertTrue(target.allObjects().isEmpty, "no object entered the store")
    }

    func testPersistentServerErrorAndRedirectToAnotherHostFailWithoutStoringAnything() throws {
        let (server, _, key) = try faultServer()
        for mode in ["fail", "redirect"] {
            let target = try store("target-\(mode)")
            XCTAssertThrowsError(try sync(target, "\(server.baseURL)/\(mode)").pull(key)) { error in
                let text = "\(error)"
                XCTAssertTrue(mode == "fail" ? text.contains("HTTP 500") : text.contains("redirects are refused"), text)
            }
            XCTAssertNil(try target.action(key))
            XCTAssertTrue(target.allObjects().isEmpty)
        }
    }

    // MARK: S3 with SigV4 (moto)

    /// `moto_server` from `$BTXPIPE_MOTO_SERVER` or PATH, or a loud skip saying how to get it.
    private func motoServer() throws -> String {
        let candidates = [ProcessInfo.processInfo.environment["BTXPIPE_MOTO_SERVER"]]
            + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/moto_server" }
        guard let found = candidates.compactMap({ $0 }).first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("SKIPPED: SigV4 test needs moto_server: python3 -m venv V && V/bin/pip install 'moto[server]', then BTXPIPE_MOTO_SERVER=V/bin/moto_server")
        }
        return found
    }

    func testSigV4SignedPushAndPullWorkAgainstAnS3CompatibleStoreAndUnsignedRequestsAreRefused() throws {
        try withMoto { port in
            let environment = ["AWS_ACCESS_KEY_ID": "testing-key", "AWS_SECRET_ACCESS_KEY": "testing-secret"]
            let config = try RemoteConfig(name: "s3", url: "http://127.0.0.1:\(port)/bucket/btx", sigv4: "aws:amz:us-east-1:s3")
            var signed = options()
            signed.credentials = try config.credentials(from: environment)
            try HTTPClient(options: signed).put("http://127.0.0.1:\(port)/bucket", data: Data())   // create the bucket
            let key = try pushThenPull(config, signed)
            XCTAssertThrowsError(try HTTPClient(options: options()).get("http://127.0.0.1:\(port)/bucket/btx/actions/v1/\(key.hex)"),
                                 "moto refuses unsigned reads") { error in
                XCTAssertFalse("\(error)".contains("testing-secret"), "credentials never appear in errors")
            }
        }
    }

    /// Pushes a finished stage from one store to `config` and pulls it into another; returns its key.
    @discardableResult
    private func pushThenPull(_ config: RemoteConfig, _ options: HTTPOptions, file: StaticString = #filePath, line: UInt = #line) throws -> ObjectHash {
        let (source, target) = (try store("a"), try store("b"))
        let (key, output) = try finishedStage(in: source)
        func sync(_ store: Store) -> RemoteSync {
            RemoteSync(remote: RemoteStore(config: config, options: options), store: store, parallel: 4,
                       progress: TransferProgress(direction: "s3", report: nil))
        }
        XCTAssertEqual(try sync(source).push(key), .published(objects: 6), file: file, line: line)
        XCTAssertEqual(try sync(target).pull(key), output, file: file, line: line)
        try assertSameStage(key, source, target, file: file, line: line)
        return key
    }

    /// moto's S3 server on a free port of 127.0.0.1 until `body` returns.
    private func withMoto(_ body: (Int) throws -> Void) throws {
        let port = try freePort()
        let moto = Process()
        moto.executableURL = URL(fileURLWithPath: try motoServer())
        moto.arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
        moto.standardOutput = FileHandle.nullDevice
        moto.standardError = FileHandle.nullDevice
        try moto.run()
        defer { kill(moto.processIdentifier, SIGTERM); moto.waitUntilExit() }
        try waitUntilListening(port: port, process: moto, log: dir.url.appendingPathComponent("none"))
        try body(port)
    }

    func testAnS3URLRemoteFindsAProfilesKeysAndTheEndpointFromTheEnvironmentAndMovesAStageThroughMoto() throws {
        try withMoto { port in
            try "[btx]\naws_access_key_id = profile-key\naws_secret_access_key = profile-secret\n"
                .write(toFile: dir.path("credentials"), atomically: true, encoding: .utf8)
            let environment = ["HOME": dir.path("nohome"), "AWS_SHARED_CREDENTIALS_FILE": dir.path("credentials"), "AWS_PROFILE": "btx",
                               "AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)", "AWS_DEFAULT_REGION": "us-east-1"]
            var remote = try RemoteConfig(name: "s3", url: "s3://btx-bucket/runs/one")
            remote.addressingStyle = "path"
            let (config, credentials) = try remote.resolved(environment: environment)
            XCTAssertEqual(config.url, "http://127.0.0.1:\(port)/btx-bucket/runs/one")
            XCTAssertEqual(config.sigv4, "aws:amz:us-east-1:s3")
            var signed = options()
            signed.credentials = credentials
            try HTTPClient(options: signed).put("http://127.0.0.1:\(port)/btx-bucket", data: Data())   // create the bucket
            try pushThenPull(config, signed)
        }
    }

    func testAFileRemoteIsASecondStoreOnASharedPathThatPushAndPullVerify() throws {
        let shared = dir.path("shared store")
        let url = "file://" + shared.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)!
        let (source, target) = (try store("a"), try store("b"))
        let (key, output) = try finishedStage(in: source)
        XCTAssertEqual(try sync(source, url).push(key), .published(objects: 6))
        XCTAssertEqual(try sync(source, url).push(key), .present)
        let remoteStore = try Store(root: URL(fileURLWithPath: shared), report: { _ in })
        try assertSameStage(key, source, remoteStore)
        XCTAssertEqual(try sync(target, url).pull(key), output)
        try assertSameStage(key, source, target)
        // A damaged object on the shared path is refused, and nothing unverified lands in the target.
        let third = try store("c")
        let manifest = try source.manifest(output)
        let victim = try XCTUnwrap(manifest.referencedObjects.sorted().first)
        let file = remoteStore.objectFile(victim).path
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: file))
        try handle.seek(toOffset: 40)
        try handle.write(contentsOf: Data(repeating: 0x5A, count: 16))
        try handle.close()
        XCTAssertThrowsError(try sync(third, url).pull(key)) { XCTAssertTrue("\($0)".contains("did not verify"), "\($0)") }
        XCTAssertNil(try third.action(key))
        XCTAssertFalse(third.hasObject(victim))
        XCTAssertThrowsError(try RemoteConfig(name: "f", url: "file://relative/path")) { XCTAssertTrue("\($0)".contains("file:///absolute/path")) }
        XCTAssertThrowsError(try sync(target, url, readOnly: true).push(key)) { XCTAssertTrue("\($0)".contains("read-only")) }
    }

    func testRemoteConfigParsesListsAndMappingsAndNamesBadFields() throws {
        let list = try JSONValue.parse(Data(#"[{"name":"a","url":"http://h/x/","read_only":true},{"name":"s3","url":"https://s3/b","sigv4":"aws:amz:us-east-1:s3"}]"#.utf8))
        let remotes = try RemoteConfig.parse(list)
        XCTAssertEqual(remotes.map(\.url), ["http://h/x", "https://s3/b"])
        XCTAssertEqual(remotes.map(\.readOnly), [true, false])
        XCTAssertEqual(try RemoteConfig.select("s3", from: remotes).sigv4, "aws:amz:us-east-1:s3")
        XCTAssertEqual(try RemoteConfig.select("http://u:p@other/y", from: remotes).name, "http://***@other/y")
        XCTAssertEqual(try RemoteConfig.parse(.object(["m": "http://m"])).first?.name, "m")
        XCTAssertThrowsError(try RemoteConfig.select("nope", from: remotes)) { XCTAssertTrue("\($0)".contains("known: a, s3")) }
        XCTAssertThrowsError(try RemoteConfig.parse(.array([.object(["name": "a", "url": "ftp://h"])]))) { XCTAssertTrue("\($0)".contains("is not http(s)://, s3:// or file://")) }
        XCTAssertThrowsError(try RemoteConfig.parse(.array([.object(["name": "a", "url": "http://h", "colour": "red"])]))) {
            XCTAssertTrue("\($0)".contains("unknown field `colour`"))
        }
        XCTAssertThrowsError(try remotes[1].credentials(from: [:])) { XCTAssertTrue("\($0)".contains("AWS_ACCESS_KEY_ID")) }
    }
}
