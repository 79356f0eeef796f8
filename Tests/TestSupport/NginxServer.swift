import Foundation
import XCTest

/// A real nginx with WebDAV PUT on 127.0.0.1 serving (and storing into) `root/www`, as a remote store
/// for tests. Started with `daemon off` so that the process we hold is the master; stopped by its PID.
public final class NginxServer {
    /// The folder the server stores into: a remote store's files appear under `root/www/…`.
    public let root: URL
    /// The port it listens on.
    public let port: Int
    private let process: Process

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Where nginx is, or nil.
    public static var binary: String? {
        ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts nginx (throws `XCTSkip` naming the package when it is not installed) and waits until it accepts.
    public init(root: URL) throws {
        guard let binary = NginxServer.binary else {
            throw XCTSkip("SKIPPED: nginx is not installed (apt-get install -y nginx, or `make test` installs it)")
        }
        self.root = root
        for folder in ["www", "body", "logs"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        port = try freePort()
        let config = root.appendingPathComponent("nginx.conf")
        try NginxServer.config(root: root.path, port: port).write(to: config, atomically: false, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-p", root.path, "-c", config.path, "-e", root.appendingPathComponent("logs/error.log").path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitUntilListening(port: port, process: process, log: root.appendingPathComponent("logs/error.log"))
    }

    private static func config(root: String, port: Int) -> String {
        """
        \(getuid() == 0 ? "user root;" : "")
        daemon off;
        worker_processes 2;
        pid \(root)/nginx.pid;
        error_log \(root)/logs/error.log;
        events { worker_connections 256; }
        http {
            access_log off;
            client_body_temp_path \(root)/body;
            proxy_temp_path \(root)/body;
            fastcgi_temp_path \(root)/body;
            uwsgi_temp_path \(root)/body;
            scgi_temp_path \(root)/body;
            server {
                listen 127.0.0.1:\(port);
                root \(root)/www;
                location / {
                    dav_methods PUT DELETE MKCOL;
                    create_full_put_path on;
                    client_max_body_size 0;
                }
            }
        }
        """
    }

    /// Stops nginx by its PID (fast shutdown) and waits for it.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "no free port"]) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits (up to 10 s) until something accepts connections on 127.0.0.1:`port`.
public func waitUntilListening(port: Int, process: Process, log: URL) throws {
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline {
        guard process.isRunning else { break }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        close(fd)
        if connected { return }
        usleep(20_000)
    }
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "server on port \(port) did not start: \(text)"])
}
