import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An open POSIX file, closed when released. The store does its own I/O so that big objects
/// stream through fixed buffers and every write can be fsynced.
final class FileDescriptor {
    let fd: Int32
    let path: String

    /// Opens `path` with POSIX `flags` (O_RDONLY, O_WRONLY|O_CREAT|O_EXCL, …).
    init(path: String, flags: Int32, mode: mode_t = 0o644) throws {
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open", errno: errno) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Reads until `buffer` is full or end of file; returns the bytes read.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.read(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 { if errno == EINTR { continue }; throw StoreError.io(path: path, operation: "read", errno: errno) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads until `buffer` is full or end of file, starting at `offset`; returns the bytes read.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 { if errno == EINTR { continue }; throw StoreError.io(path: path, operation: "read", errno: errno) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 { if errno == EINTR { continue }; throw StoreError.io(path: path, operation: "write", errno: errno) }
            done += n
        }
    }

    /// Flushes the file's data to disk.
    func sync() throws {
        guard fsync(fd) == 0 else { throw StoreError.io(path: path, operation: "fsync", errno: errno) }
    }

    /// The file's size and inode.
    func status() throws -> stat {
        var s = stat()
        guard fstat(fd, &s) == 0 else { throw StoreError.io(path: path, operation: "stat", errno: errno) }
        return s
    }
}

/// Small file-system steps the store composes: directories, durable renames, atomic writes.
enum FileSystem {
    /// Creates `path` and its parents if missing, each new directory made durable by fsyncing its
    /// parent (a crash must not lose the shard directory an object was just renamed into). A failure
    /// names its real cause (permission denied, no space, read-only file system, …).
    static func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectory(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw StoreError.io(path: path, operation: "mkdir", errno: errno)
        }
        try syncDirectory(parent.isEmpty ? "." : parent)
    }

    /// Makes a directory's entries (a rename into it) durable. File systems that cannot fsync a
    /// directory (EINVAL) are accepted; any other failure (EIO: the entries may be lost) throws.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open directory", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 || errno == EINVAL || errno == EROFS else {
            throw StoreError.io(path: path, operation: "fsync directory", errno: errno)
        }
    }

    /// A fresh temp-file path in `directory`. Readers skip names with this prefix; gc removes stale ones.
    static func tempPath(in directory: String) -> String {
        "\(directory)/\(tempPrefix)\(UUID().uuidString)"
    }

    /// The prefix of every temp file the store writes.
    static let tempPrefix = ".tmp-"

    /// Renames `from` onto `to` (atomically replacing it) and syncs the target directory.
    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            let code = errno
            unlink(from)
            throw StoreError.io(path: to, operation: "rename", errno: code)
        }
        try syncDirectory((to as NSString).deletingLastPathComponent)
    }

    /// Places an immutable file `from` at `to` with link(2), then removes `from`; an existing `to` is
    /// success (same name, same content: content addressing). This is the NFS-safe way: a retried
    /// link that already happened answers EEXIST, where a retried rename would answer ENOENT. File
    /// systems without hard links fall back to `rename`.
    static func placeImmutable(_ from: String, _ to: String) throws {
        if link(from, to) == 0 || errno == EEXIST {
            unlink(from)
            try syncDirectory((to as NSString).deletingLastPathComponent)
            return
        }
        try rename(from, to)
    }

    /// Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir.
    static func atomicWrite(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try makeDirectory(directory)
        let temp = tempPath(in: directory)
        do {
            let file = try FileDescriptor(path: temp, flags: O_WRONLY | O_CREAT | O_EXCL)
            try data.withUnsafeBytes { try file.write($0) }
            try file.sync()
        } catch {
            unlink(temp)
            throw error
        }
        try rename(temp, path)
    }

    /// The whole content of a small file, or nil when it does not exist.
    static func contents(of path: String) throws -> Data? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.io(path: path, operation: "read", errno: EIO)
        }
        return data
    }
}

extension Data {
    /// Writes the bytes to `url` atomically and durably: a temp file in the same directory, fsync,
    /// rename, fsync of the directory. (Foundation's `.atomic` option stages the file in a
    /// `/tmp/TemporaryDirectory.*` folder that it never removes on Linux.)
    public func writeAtomically(to url: URL) throws {
        try FileSystem.atomicWrite(self, to: url.path)
    }
}
