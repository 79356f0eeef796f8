import Foundation

/// Tells an obviously node-local path (under /tmp, /var/tmp, /dev/shm, /run, or on tmpfs/ramfs) from
/// one that may be on a shared filesystem. Jobs of a submission without a remote exchange artifacts
/// through the store itself, so every node must see the same store: a node-local one would leave each
/// job with its own empty copy. A path that passes is not proven shared (NFS, Lustre, GPFS, CephFS
/// look like any other mount); that remains the user's promise.
public enum NodeLocalPath {
    /// Directories that are per-machine on every cluster.
    static let localPrefixes = ["/tmp", "/var/tmp", "/dev/shm", "/run"]
    /// Memory filesystems: never shared between machines.
    static let memoryFilesystems: Set = ["tmpfs", "ramfs"]

    /// Why `path` is node-local, or nil when it may be shared.
    public static func reason(_ path: String) -> String? {
        let real = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        if let prefix = localPrefixes.first(where: { real == $0 || real.hasPrefix($0 + "/") }) {
            return "\(real) is under \(prefix), which is local to each node"
        }
        if let type = filesystemType(of: real), memoryFilesystems.contains(type) {
            return "\(real) is on \(type), which is local to each node"
        }
        return nil
    }

    /// The type of the filesystem holding `path`: the longest mount point above it in /proc/self/mounts.
    static func filesystemType(of path: String) -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
        var best: (length: Int, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            // NOTE: /proc/mounts writes a space in a mount point as \040.
            let point = fields[1].replacingOccurrences(of: "\\040", with: " ")
            let covers = point == "/" || path == point || path.hasPrefix(point + "/")
            if covers, point.count >= best?.length ?? -1 { best = (point.count, String(fields[2])) }
        }
        return best?.type
    }
}
