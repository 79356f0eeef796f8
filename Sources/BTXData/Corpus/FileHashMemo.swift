import BTXStore
import Foundation

/// Remembers the SHA-256 of local files by (path, size, mtime, inode), so an unchanged file is
/// not hashed again. Kept as one tab-separated file (e.g. `<store>/memo/file-hashes.tsv`),
/// replaced atomically; losing or corrupting it only costs rehashing.
public final class FileHashMemo {
    private struct Stamp: Equatable { let size: Int64, mtimeNanos: Int64, inode: UInt64 }
    private let file: URL
    private var entries: [String: (Stamp, ObjectHash)] = [:]
    private var dirty = false
    /// Files actually hashed (not answered from the memo) since creation.
    public private(set) var hashedCount = 0

    /// Loads the memo at `file` (missing or unreadable: starts empty).
    public init(file: URL) {
        self.file = file
        guard let data = try? Data(contentsOf: file) else { return }
        // NOTE: split on bytes, not Characters: the memo holds a line per file of every corpus ever
        // fingerprinted (tens of thousands), read on every plan, and String.split was most of a no-op run.
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                if let (path, entry) = Self.entry(UnsafeBufferPointer(rebasing: bytes[start..<end])) { entries[path] = entry }
                start = end + 1
            }
        }
    }

    /// One memo line, `hash \t size \t mtime \t inode \t path`; nil when malformed (skipped).
    private static func entry(_ line: UnsafeBufferPointer<UInt8>) -> (String, (Stamp, ObjectHash))? {
        var fields: [Range<Int>] = [], start = 0
        for i in line.indices where line[i] == UInt8(ascii: "\t") && fields.count < 4 {
            fields.append(start..<i)
            start = i + 1
        }
        fields.append(start..<line.count)
        let text = { (r: Range<Int>) in String(decoding: UnsafeBufferPointer(rebasing: line[r]), as: UTF8.self) }
        guard fields.count == 5, let hash = ObjectHash(hex: text(fields[0])), let size = Int64(text(fields[1])),
              let mtime = Int64(text(fields[2])), let inode = UInt64(text(fields[3])) else { return nil }
        return (text(fields[4]), (Stamp(size: size, mtimeNanos: mtime, inode: inode), hash))
    }

    private static func stamp(_ path: String) throws -> Stamp {
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileReadError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        return Stamp(size: Int64(st.st_size), mtimeNanos: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                     inode: UInt64(st.st_ino))
    }

    /// The SHA-256 of the file at `path`, from the memo when size, mtime and inode are unchanged.
    public func hash(of path: String) throws -> ObjectHash {
        let before = try FileHashMemo.stamp(path)
        if let (stamp, hash) = entries[path], stamp == before { return hash }
        var hasher = StreamingHasher()
        try Compression.none.decompress(from: FileByteSource(path: path)) { hasher.update($0) }
        let hash = hasher.finalize()
        hashedCount += 1
        // NOTE: a file modified while being hashed is not memoised (its stamp moved).
        if try FileHashMemo.stamp(path) == before {
            entries[path] = (before, hash)
            dirty = true
        }
        return hash
    }

    /// Writes the memo if anything changed (atomically; no temp file is left behind on failure).
    public func save() throws {
        guard dirty else { return }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        var text = ""
        for (path, (s, h)) in entries.sorted(by: { $0.key < $1.key }) where !path.contains("\n") {
            text += "\(h.hex)\t\(s.size)\t\(s.mtimeNanos)\t\(s.inode)\t\(path)\n"
        }
        // NOTE: temp → fsync → rename, removing the temp file on any failure (a full disk included).
        do { try Data(text.utf8).writeAtomically(to: file) } catch {
            throw FileReadError.readFailed(path: file.path, reason: "cannot replace memo: \(error)")
        }
        dirty = false
    }
}
