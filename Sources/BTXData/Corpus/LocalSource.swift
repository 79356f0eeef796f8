import BTXStore
import Foundation

/// A local corpus source: one file, or a directory tree filtered by include/exclude globs.
///
/// `path` may itself end in a glob (`/usr/lib/python3.11/**/*.py`): the part before the first
/// component with a wildcard is the directory, the rest an include pattern.
public struct LocalSource: Sendable {
    /// The file or directory read.
    public let root: String
    /// Relative-path patterns a file must match one of (empty: every file).
    public let include: [Glob]
    /// Relative-path patterns that exclude a file.
    public let exclude: [Glob]

    /// A source from a path (`file://` prefix allowed) and glob texts.
    public init(path: String, include: [String] = [], exclude: [String] = []) {
        var p = path.hasPrefix("file://") ? String(path.dropFirst(7)) : path
        var patterns = include
        let parts = p.split(separator: "/", omittingEmptySubsequences: false)
        if let wild = parts.firstIndex(where: { $0.contains("*") || $0.contains("?") || $0.contains("[") }) {
            p = parts[..<wild].joined(separator: "/")
            patterns.append(parts[wild...].joined(separator: "/"))
        }
        root = p.isEmpty ? "/" : p
        self.include = patterns.map(Glob.init)
        self.exclude = exclude.map(Glob.init)
    }

    /// The matching regular files, as (relative path, absolute path), sorted by relative path.
    /// A symbolic link to a regular file counts as that file (the Hugging Face cache links
    /// `snapshots/<rev>/*` to `blobs/`), so fingerprint and reader see the same bytes; links to
    /// directories are not descended (no cycles).
    public func files() throws -> [(relative: String, path: String)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw FileReadError.cannotOpen(path: root, reason: "no such file or directory")
        }
        if !isDirectory.boolValue { return [((root as NSString).lastPathComponent, root)] }
        var found: [(String, String)] = []
        try Self.walk(URL(fileURLWithPath: root).path, relative: "") { relative, path in
            if !include.isEmpty && !include.contains(where: { $0.matches(relative) }) { return }
            if exclude.contains(where: { $0.matches(relative) }) { return }
            found.append((relative, path))
        }
        if found.isEmpty { throw CorpusError.noFiles(pattern: root + " " + include.map(\.pattern).joined(separator: " ")) }
        return found.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
    }

    /// Calls `visit(relative, path)` for every regular file (or link to one) under directory `path`,
    /// descending into subdirectories but not into links to directories.
    ///
    /// NOTE: readdir's entry types, not FileManager's enumerator: on Linux the enumerator stats,
    /// lists extended attributes and reads /etc/passwd for every entry, ~2 ms each, and a rerun
    /// lists the Python stdlib's 1,500 files for every plan (most of a no-op run's time).
    static func walk(_ path: String, relative: String, _ visit: (String, String) throws -> Void) throws {
        guard let dir = opendir(path) else {
            // An unreadable subdirectory is skipped, as the enumerator did; the root must open.
            if relative.isEmpty { throw FileReadError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            return
        }
        defer { closedir(dir) }
        var subdirectories: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let child = path == "/" ? "/" + name : path + "/" + name
            var type = Int32(entry.pointee.d_type)
            if type == Int32(DT_UNKNOWN) {
                var st = stat()
                guard lstat(child, &st) == 0 else { continue }
                let format = st.st_mode & S_IFMT
                type = format == S_IFDIR ? Int32(DT_DIR) : format == S_IFLNK ? Int32(DT_LNK) : format == S_IFREG ? Int32(DT_REG) : 0
            }
            if type == Int32(DT_DIR) {
                subdirectories.append(name)
            } else if type == Int32(DT_REG) || (type == Int32(DT_LNK) && isRegularFile(child)) {
                try visit(relative + name, child)
            }
        }
        for name in subdirectories {
            try walk(path == "/" ? "/" + name : path + "/" + name, relative: relative + name + "/", visit)
        }
    }

    /// Whether `path`, links followed, is a regular file.
    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    /// The SHA-256 of the source's content: of the lines "relative-path TAB file-sha256", sorted.
    /// A changed, added or removed file changes it; `memo` spares rehashing unchanged files.
    public func fingerprint(memo: FileHashMemo) throws -> ObjectHash {
        var listing = ""
        for f in try files() { listing += "\(f.relative)\t\(try memo.hash(of: f.path).hex)\n" }
        try memo.save()
        return ObjectHash.of(listing)
    }

    /// Reads every matching file (decompressing `.gz`/`.dz`/`.zst`) and splits it into documents.
    public func documents(format: DocumentFormat) throws -> DocumentCollection {
        var out = DocumentCollection()
        for f in try files() { try format.split(try Compression.readFile(f.path), path: f.path, into: &out) }
        return out
    }
}
