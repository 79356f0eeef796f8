import ArgumentParser
import BTXPipeline
import BTXStore
import Foundation

/// The options of the commands that talk to remote stores: which remotes, and how many transfers at once.
struct RemoteOptions: ParsableArguments {
    @Option(name: .long, help: "A remote from the pipeline's `remotes:` by name, or a URL (repeatable).")
    var remote: [String] = []

    @Option(name: .long, help: "Transfers at once per stage.")
    var transfers = 8

    func validate() throws {
        if transfers < 1 || transfers > 64 { throw ValidationError("--transfers must be in 1...64") }
    }

    /// The selected remotes (all of `remotes:` when `defaultAll` and none were named), reached with
    /// credentials from the environment (the AWS chain for SigV4 and `s3://` remotes, `BTXPIPE_HTTP_*`,
    /// else .netrc); `s3://bucket/prefix` becomes its endpoint's URL.
    func stores(for spec: PipelineSpec, defaultAll: Bool) throws -> [RemoteStore] {
        do {
            let configured = try RemoteConfig.parse(spec.remotes)
            let chosen = remote.isEmpty ? (defaultAll ? configured : []) : try remote.map { try RemoteConfig.select($0, from: configured) }
            let environment = ProcessInfo.processInfo.environment
            return try chosen.map { config in
                var options = HTTPOptions()
                let (resolved, credentials) = try config.resolved(environment: environment)
                options.credentials = credentials
                if HTTPClient(options: options).sendsCredentialsInClear(resolved.url) {
                    FileHandle.standardError.write(Data("btxpipe: warning: remote \(resolved.name) gets credentials over plain http; use https\n".utf8))
                }
                return RemoteStore(config: resolved, options: options)
            }
        } catch {
            throw CommandFailure.usage("\(error)")
        }
    }

    /// The remotes as the runner's cache (nil when none are selected); its "pull …"/"push …" notes go
    /// to stderr unless `verbosity` is quiet.
    func cache(for spec: PipelineSpec, push: Bool, defaultAll: Bool, verbosity: Verbosity) throws -> RemoteCacheSet? {
        let stores = try stores(for: spec, defaultAll: defaultAll)
        guard !stores.isEmpty else { return nil }
        let quiet = verbosity.quiet
        return RemoteCacheSet(remotes: stores, parallel: transfers, push: push) { line in
            guard !quiet else { return }
            FileHandle.standardError.write(Data("btxpipe: \(line)\n".utf8))
        }
    }
}
