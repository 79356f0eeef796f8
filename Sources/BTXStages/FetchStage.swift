import BTXData
import BTXPipeline
import BTXStore
import Foundation

/// `fetch`: a corpus source read and split into documents, sampled deterministically to `max_bytes`
/// → a "corpus" manifest. The source is either
/// - `path`: a local file or directory (with `include` / `exclude` globs), or
/// - `url`: `https://…` / `http://…` (downloaded through the store, must be pinned by `sha256`; a
///   missing pin fails with the hash to paste) or `file:///…` (a `sha256` pin is checked if given).
///
/// Params: `domain`, `path` | `url`, `sha256`, `include`, `exclude`, `format` (text, lines, paragraphs,
/// jsonl, dictd), `text_field` (jsonl), `max_bytes`.
///
/// The source is read from outside the declared inputs, so `sourceFingerprint` gives the runner its
/// content identity (the pin, or the memoised SHA-256 of the local files): a changed file changes the
/// stage key and reruns the stage and everything downstream.
struct FetchStage: StageKind {
    static let name = "fetch"
    static let version = 1
    static let summary = "read a local corpus or a pinned URL (glob, format) into documents"

    func validate(_ params: StageParams) throws {
        _ = try params.string("domain")
        _ = try Self.source(params)
        _ = try params.int("max_bytes", default: DefaultCorpora.maxBytesPerDomain, in: 1...Int.max)
    }

    /// The source the parameters describe (`maxBytes` is left nil: the stage samples itself).
    static func source(_ params: StageParams) throws -> FetchSource {
        let path = try params.string("path", default: "")
        let url = try params.string("url", default: "")
        guard path.isEmpty != url.isEmpty else {
            throw StageError.badParameter(field: "path", expected: "exactly one of 'path' (local) or 'url' (http(s)/file)",
                                          actual: path.isEmpty ? "neither" : "both")
        }
        if !url.isEmpty && !(url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("file://")) {
            throw StageError.badParameter(field: "url", expected: "an http://, https:// or file:// URL", actual: url)
        }
        var source = FetchSource(url: path.isEmpty ? url : path)
        source.include = try params.strings("include", default: [])
        source.exclude = try params.strings("exclude", default: [])
        let format = try params.string("format", default: "text", oneOf: ["text", "lines", "paragraphs", "jsonl", "dictd"])
        source.format = try DocumentFormat(name: format, textField: try params.string("text_field", default: "text"))
        let pin = try params.string("sha256", default: "")
        if !pin.isEmpty && ObjectHash(hex: pin.lowercased()) == nil {
            throw StageError.badParameter(field: "sha256", expected: "64 hex digits", actual: pin)
        }
        source.sha256 = pin.isEmpty ? nil : pin.lowercased()
        return source
    }

    /// The local file or directory of a non-remote source.
    private static func localPath(_ source: FetchSource) -> String {
        source.url.hasPrefix("file://") ? String(source.url.dropFirst(7)) : source.url
    }

    /// A local source with a `sha256` pin: the (single) file's memoised hash must match it.
    private static func checkLocalPin(_ source: FetchSource, fetcher: Fetcher) throws {
        guard !source.isRemote, let pin = source.sha256 else { return }
        let path = localPath(source)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw StageError.badParameter(field: "sha256", expected: "a pin on a single file, not a directory", actual: path)
        }
        let memo = fetcher.memo
        let actual = try memo.hash(of: path)
        try? memo.save()
        guard actual.hex == pin else {
            throw FetchError.pinMismatch(url: source.url, expected: pin, actual: actual)
        }
    }

    /// The content identity of the source: the pin for a remote URL (no download; an unpinned one
    /// gives nil and fails when run, printing the pin), the memoised fingerprint of local files.
    static func sourceFingerprint(_ params: StageParams, store: Store) throws -> JSONValue? {
        let source = try source(params)
        if source.isRemote && source.sha256 == nil { return nil }
        return .string(try Fetcher(store: store).identity(of: source).hex)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let p = context.params
        let source = try Self.source(p)
        let shown = HTTPError.redacted(source.url)
        let all: DocumentCollection
        do {
            var options = HTTPOptions()
            // NOTE: the BTXPIPE_HTTP_* credentials are the remote store's: a dataset host gets them
            // only when BTXPIPE_HTTP_CREDENTIAL_HOSTS names it.
            let environment = ProcessInfo.processInfo.environment
            options.credentials = HTTPCredentials.fromEnvironment(environment)
            options.credentialHosts = HTTPCredentials.hostsFromEnvironment(environment)
            options.progress = { progress in
                context.progress(step: Int(progress.bytes), total: Int(progress.total ?? 0),
                                 fields: ["mb_per_s": progress.bytesPerSecond / 1e6, "eta_s": progress.etaSeconds ?? 0])
                return !context.isCancelled
            }
            let fetcher = Fetcher(store: context.store, client: HTTPClient(options: options))
            if fetcher.client.sendsCredentialsInClear(source.url) {
                context.log("warning: sending credentials to \(shown) over plain http; use https")
            }
            try Self.checkLocalPin(source, fetcher: fetcher)
            all = try fetcher.documents(source)
        } catch {
            throw StageError.failed("fetch \(shown): \(error)")
        }
        try context.checkCancelled()
        guard all.count > 0 else { throw StageError.failed("fetch \(shown): no documents matched") }
        let documents = all.sample(maxBytes: try p.int("max_bytes", default: DefaultCorpora.maxBytesPerDomain))
        context.log("\(all.count) documents, \(all.byteCount) bytes; kept \(documents.count) documents, \(documents.byteCount) bytes")
        context.metric("bytes", .int(Int64(documents.byteCount)))
        return try CorpusManifest.make(domain: try p.string("domain"), documents: documents, store: context.store,
                                       metadata: ["source_bytes": .int(Int64(all.byteCount))])
    }
}
