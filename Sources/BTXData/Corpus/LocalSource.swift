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
        let base = URL(fileURLWithPath: root)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey]) else {
            throw FileReadError.cannotOpen(path: root, reason: "cannot list directory")
        }
        let prefix = base.standardizedFileURL.path.count + 1
        for case let url as URL in walker {
            let values = try url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
            guard values.isRegularFile == true || (values.isSymbolicLink == true && Self.isRegularFile(url.path)) else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(prefix))
            if !include.isEmpty && !include.contains(where: { $0.matches(relative) }) { continue }
            if exclude.contains(where: { $0.matches(relative) }) { continue }
            found.append((relative, url.path))
        }
        if found.isEmpty { throw CorpusError.noFiles(pattern: root + " " + include.map(\.pattern).joined(separator: " ")) }
        return found.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
    }

    /// Whether `path`, links followed, is a regular file.
    static func isRegularFile(_ path: String) -> Bool {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        return (try? target.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true
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
