import Foundation

/// The checked-in Python test server (`Tests/BTXDataTests/Fixtures/http_server.py`) running on
/// 127.0.0.1 on a free port, serving `root/files`; stopped by its own PID in `stop()` / deinit.
public final class LocalHTTPServer {
    /// The served folder: put files under `root/files`, read `root/requests.log`.
    public let root: URL
    /// The port it listens on.
    public let port: Int
    private let process: Process

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the server and waits for it to print its port.
    public init(root: URL, script: URL = LocalHTTPServer.defaultScript) throws {
        self.root = root
        try FileManager.default.createDirectory(at: root.appendingPathComponent("files"), withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, root.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "test server did not print its port: \(text)"])
        }
        self.port = port
    }

    /// The fixture script beside the BTXData tests.
    public static var defaultScript: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("BTXDataTests/Fixtures/http_server.py")
    }

    /// Writes `data` as `files/NAME`.
    public func serve(_ name: String, _ data: Data) throws {
        try data.write(to: root.appendingPathComponent("files/\(name)"))
    }

    /// The lines of the request log so far.
    public var requests: [String] {
        ((try? String(contentsOf: root.appendingPathComponent("requests.log"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    /// The lines of the authorization log so far: "METHOD PATH AUTHORIZATION-VALUE-or-dash".
    public var authorizations: [String] {
        ((try? String(contentsOf: root.appendingPathComponent("auth.log"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    /// Stops the server process (by its PID) and waits for it.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

import XCTest

/// A test case class sharing one `LocalHTTPServer` among its tests (starting Python costs ~0.5 s);
/// tests are skipped when python3 cannot start it. Test classes run one after another, so each
/// subclass gets a fresh server.
open class LocalHTTPServerTestCase: XCTestCase {
    private static var serverDirectory: TemporaryDirectory?
    private static var sharedServer: LocalHTTPServer?

    /// The running server.
    public var server: LocalHTTPServer { Self.sharedServer! }

    override open class func setUp() {
        super.setUp()
        serverDirectory = try? TemporaryDirectory()
        sharedServer = serverDirectory.flatMap { try? LocalHTTPServer(root: $0.url) }
    }

    override open class func tearDown() {
        sharedServer?.stop()
        sharedServer = nil
        serverDirectory = nil
        super.tearDown()
    }

    override open func setUpWithError() throws {
        try super.setUpWithError()
        guard Self.sharedServer != nil else { throw XCTSkip("python3 test server did not start") }
    }
}
