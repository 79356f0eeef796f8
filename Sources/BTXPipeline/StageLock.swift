import BTXStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who holds a stage lock: written into the lock file so others can say whom they wait for.
public struct LockHolder: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The stage instance name.
    public var stage: String
    /// Host name of the holder.
    public var host: String
    /// Process id of the holder.
    public var pid: Int32
    /// When it took the lock (seconds since 1970).
    public var start: Double

    public var description: String {
        "\(stage) (host \(host), pid \(pid), since \(Self.timestamp(start)))"
    }

    static func timestamp(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// This process, taking a lock for `stage` now.
    static func current(stage: String) -> LockHolder {
        LockHolder(stage: stage, host: ProcessInfo.processInfo.hostName, pid: getpid(),
                   start: Date().timeIntervalSince1970)
    }
}

/// A per-stage-key lock under `<store>/locks/<key>.lock`: two runs on one store never run one stage at once.
///
/// The lock is an exclusive `flock` on the file (released by the kernel when the holder dies, even by
/// kill -9), and the file holds the holder's host, pid and start time. A clean release deletes the file,
/// so a file found with a holder in it when the flock is free was left by a dead process: it is taken
/// over and reported. NOTE: flock is per open file description, so it also excludes threads of one process.
public final class StageLock {
    /// The lock file.
    public let path: String
    /// The previous holder when this lock was taken over from a dead process.
    public let staleHolder: LockHolder?
    private var descriptor: Int32

    private init(path: String, descriptor: Int32, staleHolder: LockHolder?) {
        self.path = path
        self.descriptor = descriptor
        self.staleHolder = staleHolder
    }

    /// The outcome of one attempt.
    public enum Attempt {
        case acquired(StageLock)
        case busy(LockHolder?)
    }

    /// The lock file of `key` in `store`.
    public static func path(store: URL, key: ObjectHash) -> String {
        store.appendingPathComponent("locks/\(key.hex).lock").path
    }

    /// Tries once, without waiting.
    public static func tryAcquire(store: URL, key: ObjectHash, stage: String) throws -> Attempt {
        let path = Self.path(store: store, key: key)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw LockError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                close(fd)
                return .busy(readHolder(path))
            }
            // NOTE: the file may have been released (unlinked) between open and flock; then we hold a
            // lock on a dead inode, and must retry with the current file.
            var opened = stat(), current = stat()
            guard fstat(fd, &opened) == 0, stat(path, &current) == 0, opened.st_ino == current.st_ino else {
                close(fd)
                continue
            }
            let stale = readHolder(path)
            let holder = try JSONEncoder().encode(LockHolder.current(stage: stage))
            guard ftruncate(fd, 0) == 0, holder.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == holder.count else {
                close(fd)
                throw LockError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            return .acquired(StageLock(path: path, descriptor: fd, staleHolder: stale))
        }
    }

    /// Waits until the lock is free (polling, so that cancellation is seen), calling `waiting` once with the holder.
    public static func acquire(store: URL, key: ObjectHash, stage: String, isCancelled: () -> Bool,
                               waiting: (LockHolder?) -> Void) throws -> StageLock? {
        var told = false
        while true {
            switch try tryAcquire(store: store, key: key, stage: stage) {
            case .acquired(let lock): return lock
            case .busy(let holder):
                if !told { waiting(holder); told = true }
                if isCancelled() { return nil }
                usleep(50_000)
            }
        }
    }

    /// Releases the lock: deletes the file while still holding it, then closes it.
    public func release() {
        guard descriptor >= 0 else { return }
        unlink(path)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }

    /// The holder written in a lock file, or nil when it is empty or unreadable.
    public static func readHolder(_ path: String) -> LockHolder? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        return try? JSONDecoder().decode(LockHolder.self, from: data)
    }

    /// Deletes the lock file at `path` unless a live process holds it; true when it was removed.
    /// NOTE: the file is deleted while we hold its flock, so a concurrent `tryAcquire` sees the inode change.
    public static func removeIfStale(_ path: String) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        return unlink(path) == 0
    }

    /// True when some process holds the lock file at `path` now.
    public static func isHeld(_ path: String) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 { return true }
        flock(fd, LOCK_UN)
        return false
    }
}

/// Errors of stage locks.
public enum LockError: Error, CustomStringConvertible {
    /// The lock file cannot be created or written.
    case cannotOpen(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "\(path): cannot take the stage lock: \(reason)"
        }
    }
}
