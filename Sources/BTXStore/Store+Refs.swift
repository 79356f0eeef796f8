import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Store {
    /// Points ref `name` (e.g. "checkpoint/<key hex>", "pin/seed", "last/btx/train[code]") at `hash`,
    /// atomically replacing any previous value.
    public func setRef(_ name: String, to hash: ObjectHash) throws {
        try FileSystem.atomicWrite(Data((hash.hex + "\n").utf8), to: try refPath(name))
    }

    /// Where ref `name` points, or nil when it is not set. A damaged ref is reported and treated as unset.
    public func ref(_ name: String) throws -> ObjectHash? {
        let path = try refPath(name)
        guard let data = try FileSystem.contents(of: path) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let hash = ObjectHash(hex: text) else {
            report("ignoring corrupt ref \(path): expected 64 hex digits")
            return nil
        }
        return hash
    }

    /// Removes ref `name` (no error when it is not set).
    public func removeRef(_ name: String) throws {
        let path = try refPath(name)
        guard unlink(path) == 0 || errno == ENOENT else { throw StoreError.io(path: path, operation: "unlink", errno: errno) }
        try FileSystem.syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Every ref and where it points, sorted by name (damaged refs skipped with a report).
    public func refs() throws -> [(name: String, hash: ObjectHash)] {
        try refNames().compactMap { name in try ref(name).map { (name, $0) } }
    }

    /// The file of ref `name`, after validating the name.
    func refPath(_ name: String) throws -> String {
        try Store.validateRefName(name)
        return "\(refsDirectory)/\(name)"
    }

    /// Ref names: components of [A-Za-z0-9._[]-] joined by '/', none empty or starting with '.'
    /// (which rules out "..", hidden files and the store's temp files).
    static func validateRefName(_ name: String) throws {
        func bad(_ reason: String) -> StoreError { .invalidRefName(name, reason: reason) }
        guard !name.isEmpty, name.utf8.count <= 1024 else { throw bad("empty or longer than 1024 bytes") }
        guard !name.hasPrefix("/") else { throw bad("leading '/'") }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/[]-")
        if let c = name.first(where: { !allowed.contains($0) }) { throw bad("character '\(c)' not allowed") }
        for component in name.split(separator: "/", omittingEmptySubsequences: false) {
            guard !component.isEmpty else { throw bad("empty path component") }
            guard !component.hasPrefix(".") else { throw bad("component '\(component)' starts with '.'") }
        }
    }
}
