import BTXStore
import Foundation

/// Remembers the SHA-256 of local files by (path, size, mtime, inode), so an unchanged file is
/// not hashed again. Kept as one tab-separated file (e.g. `<store>/memo/file-hashes.tsv`),
/// replaced atomically; losing or corrupting it only costs rehashing.
public final class FileHashMemo {
    private struct Stamp: Equatable { let size: Int64, mtimeNanos: Int64, inode: UInt64 }
    private let file: URL
    /// A line of the memo file: its bytes, and those of its path (after the fourth tab).
    private struct Line { let whole: Range<Int>, path: Range<Int> }
    /// The memo file as read, and its lines ordered by their path's bytes (as `save` writes them;
    /// a memo ordered otherwise, e.g. edited by hand or with damaged lines appended, is sorted on load).
    // NOTE: looked up by binary search, not parsed into a dictionary: the memo holds a line per file of
    // every corpus ever fingerprinted (thousands), read on every plan, and a plan looks up the files of
    // its own corpora only; building a String and an entry for every line was most of a no-op rerun.
    private let bytes: [UInt8]
    private let lines: [Line]
    /// Entries hashed (or changed) since loading, by the path's bytes; they take precedence over the
    /// file's lines.
    // NOTE: bytes, not String keys: Strings compare by canonical equivalence, so two file names that
    // differ only in Unicode normal form would share an entry.
    private var added: [[UInt8]: (Stamp, ObjectHash)] = [:]
    private var dirty = false
    /// Files actually hashed (not answered from the memo) since creation.
    public private(set) var hashedCount = 0

    /// Loads the memo at `file` (missing or unreadable: starts empty).
    public init(file: URL) {
        self.file = file
        let bytes = (try? Data(contentsOf: file)).map { [UInt8]($0) } ?? []
        var lines = bytes.withUnsafeBufferPointer(Self.lineRanges)
        let path = { (line: Line) in bytes[line.path] }
        if zip(lines, lines.dropFirst()).contains(where: { path($1).lexicographicallyPrecedes(path($0)) }) {
            lines.sort { path($0).lexicographicallyPrecedes(path($1)) }
        }
        self.bytes = bytes
        self.lines = lines
    }

    /// The lines of `all` that have a path field (at least four tabs; others are damaged and skipped).
    // NOTE: memchr: the memo is a megabyte and more.
    private static func lineRanges(_ all: UnsafeBufferPointer<UInt8>) -> [Line] {
        guard let base = all.baseAddress else { return [] }
        let index = { (found: UnsafeMutableRawPointer?, limit: Int) in
            found.map { base.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? limit
        }
        var lines: [Line] = [], start = 0
        while start < all.count {
            let end = index(memchr(base + start, 0x0A, all.count - start), all.count)
            var field = start, tabs = 0
            while tabs < 4, field < end {
                field = index(memchr(base + field, 0x09, end - field), end) + 1
                tabs += 1
            }
            if tabs == 4, field <= end { lines.append(Line(whole: start..<end, path: field..<end)) }
            start = end + 1
        }
        return lines
    }

    /// The entry of `path`: the latest hashed, else the file's line for it (binary search).
    private func entry(_ key: [UInt8]) -> (Stamp, ObjectHash)? {
        if let entry = added[key] { return entry }
        var low = 0, high = lines.count
        while low < high {
            let mid = (low + high) / 2
            if bytes[lines[mid].path].lexicographicallyPrecedes(key) { low = mid + 1 } else { high = mid }
        }
        guard low < lines.count, bytes[lines[low].path].elementsEqual(key) else { return nil }
        return bytes.withUnsafeBufferPointer { Self.entry(UnsafeBufferPointer(rebasing: $0[lines[low].whole]))?.1 }
    }

    /// One memo line, `hash \t size \t mtime \t inode \t path`; nil when malformed (skipped).
    private static func entry(_ line: UnsafeBufferPointer<UInt8>) -> ([UInt8], (Stamp, ObjectHash))? {
        var fields: [Range<Int>] = [], start = 0
        for i in line.indices where line[i] == UInt8(ascii: "\t") && fields.count < 4 {
            fields.append(start..<i)
            start = i + 1
        }
        fields.append(start..<line.count)
        let text = { (r: Range<Int>) in String(decoding: UnsafeBufferPointer(rebasing: line[r]), as: UTF8.self) }
        guard fields.count == 5, let hash = ObjectHash(hex: text(fields[0])), let size = Int64(text(fields[1])),
              let mtime = Int64(text(fields[2])), let inode = UInt64(text(fields[3])) else { return nil }
        return (Array(UnsafeBufferPointer(rebasing: line[fields[4]])), (Stamp(size: size, mtimeNanos: mtime, inode: inode), hash))
    }

    private static func stamp(_ path: String) throws -> Stamp {
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileReadError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        return Stamp(size: Int64(st.st_size), mtimeNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                     inode: UInt64(st.st_ino))
    }

    /// The SHA-256 of the file at `path`, from the memo when size, mtime and inode are unchanged.
    public func hash(of path: String) throws -> ObjectHash {
        let before = try FileHashMemo.stamp(path), key = Array(path.utf8)
        if let (stamp, hash) = entry(key), stamp == before { return hash }
        var hasher = StreamingHasher()
        try Compression.none.decompress(from: FileByteSource(path: path)) { hasher.update($0) }
        let hash = hasher.finalize()
        hashedCount += 1
        // NOTE: a file modified while being hashed is not memoised (its stamp moved).
        if try FileHashMemo.stamp(path) == before {
            added[key] = (before, hash)
            dirty = true
        }
        return hash
    }

    /// Writes the memo if anything changed (atomically; no temp file is left behind on failure), its
    /// lines ordered by their path's bytes.
    public func save() throws {
        guard dirty else { return }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        var entries = added
        bytes.withUnsafeBufferPointer { all in
            for line in lines {
                if let (path, entry) = Self.entry(UnsafeBufferPointer(rebasing: all[line.whole])), entries[path] == nil { entries[path] = entry }
            }
        }
        var text: [UInt8] = []
        for (path, (s, h)) in entries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) where !path.contains(UInt8(ascii: "\n")) {
            text += Array("\(h.hex)\t\(s.size)\t\(s.mtimeNanos)\t\(s.inode)\t".utf8) + path + [UInt8(ascii: "\n")]
        }
        // NOTE: temp → fsync → rename, removing the temp file on any failure (a full disk included).
        do { try Data(text).writeAtomically(to: file) } catch {
            throw FileReadError.readFailed(path: file.path, reason: "cannot replace memo: \(error)")
        }
        dirty = false
    }
}
