/// The three domains `make run` trains on, all on a fresh Debian machine without internet
/// (packages libpython3.11-stdlib, dict-foldoc, dict-wn), read as local sources.
public enum DefaultCorpora {
    /// Bytes per domain the default pipeline keeps: a few MB, enough for a 2048-token BPE and
    /// small models on 2 cores.
    public static let maxBytesPerDomain = 4_000_000

    /// code: Python 3.11 standard library sources without their test suites (~11 MB).
    public static let code = (path: "/usr/lib/python3.11", include: ["**/*.py"],
                              exclude: ["**/test/**", "**/tests/**", "idlelib/idle_test/**"], format: "text")

    /// knowledge: FOLDOC (~5.6 MB) and WordNet glosses (~31 MB), one document per dictd entry.
    public static let knowledge = (path: "/usr/share/dictd", include: ["foldoc.dict.dz", "wn.dict.dz"],
                                   exclude: [String](), format: "dictd")

    /// The code source.
    public static var codeSource: LocalSource { LocalSource(path: code.path, include: code.include, exclude: code.exclude) }
    /// The knowledge source.
    public static var knowledgeSource: LocalSource {
        LocalSource(path: knowledge.path, include: knowledge.include, exclude: knowledge.exclude)
    }
}
