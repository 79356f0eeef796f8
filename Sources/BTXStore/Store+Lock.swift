import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Store {
    /// The store-wide lock file: runs, pulls, imports and puts hold it shared for as long as they may
    /// write objects that nothing references yet; gc holds it exclusive. So gc never sweeps an object
    /// a live run has just written or deduplicated (the mtime grace stays as a second line).
    var lockPath: String { root.path + "/lock" }

    /// Holds the store lock shared until the returned lock is released; waits while a gc runs. A
    /// store on a read-only file system gets a lock that holds nothing (nobody can gc it from here).
    public func lockShared() throws -> FileLock {
        do { return try FileLock(path: lockPath, mode: .shared) } catch StoreError.io(_, "open lock", let code) where code == EROFS || code == EACCES {
            return FileLock.none(lockPath)
        }
    }

    /// Holds the store lock exclusively (gc); throws `StoreError.busy` while a run, pull or import uses it.
    public func lockExclusive() throws -> FileLock {
        do { return try FileLock(path: lockPath, mode: .exclusive, wait: false) } catch StoreError.busy(let path, _) {
            throw StoreError.busy(path: path, holder: "a run, pull, import or put is using the store")
        }
    }
}
