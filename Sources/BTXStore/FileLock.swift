import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `flock` on a small lock file, held until `release` (or until the process dies: the kernel drops
/// it, kill -9 included). The file stays in place, so every process locks the same inode. flock is
/// per open file description, so two `FileLock`s in one process exclude each other too.
///
/// NOTE: on NFS, Linux maps flock to POSIX byte-range locks (NFSv4, or NFSv3 with lockd): the store
/// needs a mount without `nolock` / `local_lock=all`, else locks are only local to each client.
public final class FileLock {
    /// Shared (many holders) or exclusive (one).
    public enum Mode: Sendable { case shared, exclusive }

    /// The lock file.
    public let path: String
    private var descriptor: Int32

    /// Opens (creating) `path` and takes the lock in `mode`: waiting for it, or with `wait: false`
    /// throwing `StoreError.busy` while a conflicting holder has it.
    public init(path: String, mode: Mode = .exclusive, wait: Bool = true) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open lock", errno: errno) }
        let operation = (mode == .shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)
        while flock(fd, operation) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK { throw StoreError.busy(path: path, holder: "another process holds it") }
            throw StoreError.io(path: path, operation: "flock", errno: code)
        }
        self.path = path
        descriptor = fd
    }

    private init(unlockedAt path: String) {
        self.path = path
        descriptor = -1
    }

    /// A lock that holds nothing (for a store on a read-only file system, which nobody can change).
    static func none(_ path: String) -> FileLock { FileLock(unlockedAt: path) }

    /// Releases the lock (also done when the value is released).
    public func release() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    deinit { release() }
}
