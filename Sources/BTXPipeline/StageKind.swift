import BTXStore

/// One kind of pipeline step: a pure function (params, input manifests) → one output manifest.
///
/// Same params and same input manifests must give the same output manifest, bit for bit, on the same
/// machine, at any thread count (the runner gives a stage the cores free when it starts); nothing may be read from outside the declared inputs. The runner caches
/// the result under the stage key (kind name, `version`, canonical params, input manifest hashes).
public protocol StageKind {
    /// The name used as `kind:` in a pipeline spec: "fetch", "tokenize", "train", "mix", …
    static var name: String { get }
    /// Bump to invalidate this kind's cached results (and everything downstream of them).
    static var version: Int { get }
    /// One-line description shown by `btxpipe show` and in "unknown kind" hints.
    static var summary: String { get }
    init()
    /// Range and type checks before anything runs; errors name the field (`StageParams` getters do).
    ///
    /// NOTE: every parameter the kind accepts must be read here (with a getter, defaults included):
    /// reads are recorded, and a parameter that `validate` never reads is reported as unknown, with a
    /// "did you mean" hint. That is how a typo like `stpes: 10` fails before a long run.
    func validate(_ params: StageParams) throws
    /// The work. Long stages call `context.progress`, check `context.isCancelled` between steps
    /// (then `saveCheckpoint` and throw `StageError.cancelled`) and resume with `loadCheckpoint`.
    func run(_ context: StageContext) throws -> Manifest
    /// For a kind that reads outside its declared inputs (local files, a pinned URL): the content
    /// fingerprint of what it will read, folded into the stage key so that a changed file reruns the
    /// stage and its dependents. Must be cheap (memoised hashes, no downloads). Default: nil.
    static func sourceFingerprint(_ params: StageParams, store: Store) throws -> JSONValue?
}

extension StageKind {
    /// Default summary: the kind's name.
    public static var summary: String { name }
    /// Default: the kind reads only its declared inputs.
    public static func sourceFingerprint(_ params: StageParams, store: Store) throws -> JSONValue? { nil }
}
