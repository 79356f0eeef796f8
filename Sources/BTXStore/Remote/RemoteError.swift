import Foundation

/// Why a remote-store operation failed. Messages never contain credentials.
public enum RemoteError: Error, CustomStringConvertible, Equatable {
    /// `remotes:` in a pipeline, or a `--remote` value, is malformed.
    case invalidConfig(String)
    /// No credentials were found for a signed remote, or an AWS shared file is malformed.
    case credentials(String)
    /// `--remote NAME` names no remote of the pipeline.
    case unknownRemote(String, known: [String])
    /// A push was asked of a remote marked `read_only`.
    case readOnly(remote: String)
    /// The remote's action entry (or a manifest) is not what it should be.
    case invalidEntry(url: String, reason: String)
    /// A downloaded object did not verify, even after retries; nothing was stored.
    case corruptDownload(url: String, reason: String, attempts: Int)
    /// After uploading, the remote still lacks an object an action entry needs; the entry was not written.
    case incompleteUpload(remote: String, key: ObjectHash, missing: ObjectHash)
    /// Several transfers failed; the first few are listed.
    case transfers(failed: Int, first: [String])

    public var description: String {
        switch self {
        case .invalidConfig(let why):
            return "invalid remote: \(why) (expected `remotes:` as a list of {name, url, read_only, sigv4} or a URL)"
        case .credentials(let why):
            return why
        case .unknownRemote(let name, let known):
            let list = known.isEmpty ? "the pipeline has no `remotes:`" : "known: \(known.joined(separator: ", "))"
            return "no remote named '\(name)' (\(list); a URL works too)"
        case .readOnly(let remote):
            return "remote '\(remote)' is read-only: nothing is pushed to it"
        case .invalidEntry(let url, let reason):
            return "\(url): \(reason)"
        case .corruptDownload(let url, let reason, let attempts):
            return "\(url) did not verify after \(attempts) attempt(s): \(reason); nothing was stored"
        case .incompleteUpload(let remote, let key, let missing):
            return "remote '\(remote)' still lacks object \(missing.short) after upload; action \(key.short) not published"
        case .transfers(let failed, let first):
            return "\(failed) transfer(s) failed: \(first.joined(separator: "; "))"
        }
    }
}
