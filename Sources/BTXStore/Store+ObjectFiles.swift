import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Store {
    // MARK: object files as they are on disk (what remotes transfer)

    /// The file holding object `hash` (compressed, with its header), whether or not it exists.
    func objectFile(_ hash: ObjectHash) -> URL { URL(fileURLWithPath: objectPath(hash)) }

    /// Where a download of object `hash` accumulates: a fixed name, so a later attempt (or a later
    /// process) resumes it with an HTTP Range request. The temp prefix lets gc remove stale ones.
    func downloadPath(_ hash: ObjectHash) -> String {
        "\(tempDirectory)/\(FileSystem.tempPrefix)download-\(hash.hex)"
    }

    /// A fresh temp path in the store's object temp folder.
    func newTempPath() -> String { FileSystem.tempPath(in: tempDirectory) }

    /// Moves a downloaded object file at `temp` into place as object `hash`, after decoding it
    /// completely and checking its content hashes to `hash`. A damaged file is deleted and
    /// `StoreError.corrupt` thrown, so nothing unverified ever appears under an object name.
    func importObjectFile(at temp: String, as hash: ObjectHash) throws {
        do {
            let file = try FileDescriptor(path: temp, flags: O_RDONLY)
            try decoder.decode(file, expected: hash, begin: { _ in }, sink: { _ in })
            try file.sync()
        } catch {
            unlink(temp)
            throw error
        }
        try placeObject(temp, as: hash)
    }
}
