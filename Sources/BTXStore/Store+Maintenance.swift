import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `Store.verify` found.
public struct VerifyReport: Sendable {
    /// Objects, action entries and refs checked.
    public var checked = 0
    /// Every damaged file: its path and what is wrong.
    public var problems: [(path: String, reason: String)] = []
}

/// What `Store.collectGarbage` found (and removed, unless it was a dry run).
public struct GarbageReport: Sendable {
    public var reachableObjects = 0
    public var unreachable: [ObjectHash] = []
    /// Bytes on disk of the unreachable objects plus stale temp and quarantined files.
    public var bytes = 0
    /// Stale temp files and quarantined objects (always garbage).
    public var strayFiles: [String] = []
}

/// Sizes of a store's parts.
public struct DiskUsage: Sendable {
    public var objects = 0, objectBytes = 0, contentBytes = 0
    public var actions = 0, refs = 0
    public var strayFiles = 0, strayBytes = 0
}

extension Store {
    /// Every object file name present (not verified).
    public func allObjects() -> [ObjectHash] {
        let shards = (try? FileManager.default.contentsOfDirectory(atPath: objectsDirectory)) ?? []
        return shards.filter { $0.utf8.count == 2 }.flatMap { shard in
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(objectsDirectory)/\(shard)")) ?? [])
                .compactMap(ObjectHash.init(hex:))
        }.sorted()
    }

    /// Reads every object, action entry and ref completely; lists what is damaged, and action entries
    /// and refs whose closure is incomplete (dangling). Changes nothing unless `repair` (except that a
    /// damaged manifest met while checking a closure for the first time in this store is quarantined, as
    /// by any reader): then damaged
    /// objects are quarantined, and damaged or dangling action entries and damaged refs removed, so
    /// the stages concerned are recomputed (or pulled again) by the next run. Dangling pins are only
    /// listed: what they held must be imported again.
    public func verify(repair: Bool = false) -> VerifyReport {
        var report = VerifyReport()
        for hash in allObjects() {
            report.checked += 1
            guard let error = verifyObject(hash) else { continue }
            if case .corrupt(let path, let reason) = error { report.problems.append((path, reason)) }
            else { report.problems.append((objectPath(hash), "\(error)")) }
            if repair, let file = try? FileDescriptor(path: objectPath(hash), flags: O_RDONLY) { quarantine(file) }
        }
        for key in (try? actionKeys()) ?? [] {
            report.checked += 1
            let path = actionPath(key)
            var problem: String?
            if let data = try? FileSystem.contents(of: path), let entry = try? ActionEntry(jsonData: data) {
                if let gap = gap(in: entry) { problem = "dangling action entry: \(gap)" }
            } else {
                problem = "not an action entry JSON"
            }
            guard let problem else { continue }
            report.problems.append((path, problem))
            if repair { try? invalidateAction(key, reason: problem) }
        }
        for name in refNames() {
            report.checked += 1
            verifyRef(name, repair: repair, into: &report)
        }
        return report
    }

    /// Checks ref `name`: it holds a hash, and everything that hash reaches is present.
    private func verifyRef(_ name: String, repair: Bool, into report: inout VerifyReport) {
        let path = "\(refsDirectory)/\(name)"
        let text = (try? FileSystem.contents(of: path)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard let hash = ObjectHash(hex: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            report.problems.append((path, "ref does not hold a 64-hex-digit hash"))
            if repair { unlink(path) }
            return
        }
        let missing: ObjectHash?
        do { missing = try closure(of: [hash]).sorted().first { !hasObject($0) } } catch StoreError.missing(let gone) {
            missing = gone
        } catch {
            report.problems.append((path, "its closure cannot be read: \(Store.oneLine(error))"))
            return
        }
        if let missing {
            report.problems.append((path, "dangling ref: object \(missing.short) it reaches is missing"))
            // Checkpoints and last-run entries are recreated by runs; a pin is the user's to restore.
            if repair && !name.hasPrefix("pin/") { try? removeRef(name) }
        }
    }

    /// Marks everything reachable from the action cache (entry → output manifest → its objects,
    /// record → log) and from refs, then lists (or with `delete`, removes) the rest. Objects and
    /// temp files younger than `grace` seconds are kept: a running stage may not have recorded them yet.
    /// Holds the store lock exclusively (throws `.busy` while a run, pull or import is active) and
    /// aborts on any read error of the graph (run `verify --repair` first), so it cannot delete a
    /// live object.
    public func collectGarbage(delete: Bool, grace: TimeInterval = 600) throws -> GarbageReport {
        let lock = try lockExclusive()
        defer { lock.release() }
        let live = try reachableObjects()
        let cutoff = Date().timeIntervalSince1970 - grace
        var report = GarbageReport(reachableObjects: live.count)
        for hash in allObjects() where !live.contains(hash) {
            let path = objectPath(hash)
            guard let (size, mtime) = Store.sizeAndTime(path), mtime < cutoff else { continue }
            report.unreachable.append(hash)
            report.bytes += size
            if delete { unlink(path) }
        }
        for path in strayFiles() {
            guard let (size, mtime) = Store.sizeAndTime(path), mtime < cutoff || path.hasPrefix(quarantineDirectory) else { continue }
            report.strayFiles.append(path)
            report.bytes += size
            if delete { unlink(path) }
        }
        return report
    }

    /// The objects reachable from action entries and refs: entries' outputs, records and logs, and the
    /// closure (`closure(of:)`) of those and of every ref's target: a checkpoint holding a model, a
    /// last-run entry holding a failed run's record. Throws on an unreadable entry or document.
    func reachableObjects() throws -> Set<ObjectHash> {
        var roots: [ObjectHash] = []
        for key in try actionKeys() {
            let path = actionPath(key)
            guard let data = try FileSystem.contents(of: path) else { continue }   // removed meanwhile
            guard let entry = try? ActionEntry(jsonData: data) else {
                throw StoreError.corrupt(path: path, reason: "not an action entry JSON (hint: `btxpipe store verify --repair`)")
            }
            roots += [entry.output, entry.record]
        }
        for (_, hash) in try refs() { roots.append(hash) }
        do { return try closure(of: roots) } catch StoreError.missing(let hash) {
            throw StoreError.corrupt(path: objectPath(hash), reason: "missing, so what it references is unknown; gc refuses to guess (hint: `btxpipe store verify --repair`)")
        }
    }

    /// The manifest in object `hash` when it is one (checked cheaply first: small and JSON-looking),
    /// else nil. Throws when the object is missing or damaged.
    public func asManifest(_ hash: ObjectHash) throws -> Manifest? {
        guard try objectLength(hash) < 64 << 20 else { return nil }
        let data = try object(hash)
        guard data.first == UInt8(ascii: "{") else { return nil }
        return try? Manifest(jsonData: data)
    }

    /// The content length of object `hash`, from its header (not verified).
    public func objectLength(_ hash: ObjectHash) throws -> Int {
        let path = objectPath(hash)
        guard let file = try? FileDescriptor(path: path, flags: O_RDONLY) else { throw StoreError.missing(hash) }
        return try Store.header(of: file).length
    }

    /// The header of an object file, checked against the file's size (`ObjectHeader.check(fileSize:path:)`)
    /// so that a damaged or hostile header cannot make a reader allocate for a length the file cannot hold.
    static func header(of file: FileDescriptor) throws -> ObjectHeader {
        var bytes = [UInt8](repeating: 0, count: ObjectHeader.size)
        let got = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        let header = try bytes.withUnsafeBytes { try ObjectHeader(parsing: UnsafeRawBufferPointer(rebasing: $0[0..<got]), path: file.path) }
        try header.check(fileSize: Int(try file.status().st_size), path: file.path)
        return header
    }

    /// Sizes of the store's parts.
    public func diskUsage() throws -> DiskUsage {
        var usage = DiskUsage()
        for hash in allObjects() {
            let path = objectPath(hash)
            usage.objects += 1
            usage.objectBytes += Store.sizeAndTime(path)?.size ?? 0
            usage.contentBytes += (try? objectLength(hash)) ?? 0
        }
        usage.actions = try actionKeys().count
        usage.refs = refNames().count
        for path in strayFiles() { usage.strayFiles += 1; usage.strayBytes += Store.sizeAndTime(path)?.size ?? 0 }
        return usage
    }

    /// Temp files left by interrupted writes, and quarantined objects.
    func strayFiles() -> [String] {
        var out: [String] = []
        for directory in [tempDirectory, quarantineDirectory] {
            out += ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).map { "\(directory)/\($0)" }
        }
        for directory in [actionsDirectory] + refDirectories() {
            out += ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasPrefix(FileSystem.tempPrefix) }.map { "\(directory)/\($0)" }
        }
        return out.sorted()
    }

    /// Names of all ref files (valid names only).
    func refNames() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: refsDirectory) else { return [] }
        var names: [String] = []
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(refsDirectory)/\(relative)", isDirectory: &isDirectory),
               !isDirectory.boolValue, (try? Store.validateRefName(relative)) != nil { names.append(relative) }
        }
        return names.sorted()
    }

    private func refDirectories() -> [String] {
        var out = [refsDirectory]
        guard let walker = FileManager.default.enumerator(atPath: refsDirectory) else { return out }
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(refsDirectory)/\(relative)", isDirectory: &isDirectory),
               isDirectory.boolValue { out.append("\(refsDirectory)/\(relative)") }
        }
        return out
    }

    /// Resolves what a user typed: a full hash, a ref name, or a unique hash prefix (≥ 6 digits).
    public func resolve(_ text: String) throws -> ObjectHash {
        if let hash = ObjectHash(hex: text) { return hash }
        if (try? Store.validateRefName(text)) != nil, let hash = try ref(text) { return hash }
        let prefix = text.lowercased()
        guard prefix.count >= 6, prefix.allSatisfy(\.isHexDigit) else { throw StoreError.unresolved(text, reason: "not a hash, a hash prefix of 6+ digits, or a ref") }
        let shard = "\(objectsDirectory)/\(prefix.prefix(2))"
        var matches = ((try? FileManager.default.contentsOfDirectory(atPath: shard)) ?? []).filter { $0.hasPrefix(prefix) }
        matches += ((try? actionKeys()) ?? []).map(\.hex).filter { $0.hasPrefix(prefix) }
        let unique = Set(matches)
        guard unique.count == 1, let hash = ObjectHash(hex: unique.first!) else {
            throw StoreError.unresolved(text, reason: unique.isEmpty ? "no object or action key starts with it" : "\(unique.count) hashes start with it")
        }
        return hash
    }

    /// A file's size and modification time (seconds since 1970), or nil when it is gone.
    static func sizeAndTime(_ path: String) -> (size: Int, mtime: Double)? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return (Int(s.st_size), Double(s.st_mtim.tv_sec) + Double(s.st_mtim.tv_nsec) * 1e-9)
    }
}
