/// What can go wrong reading or importing a GGUF file; each case names the file and the field (a
/// header field, metadata key or tensor) and prints as one line.
public enum GGUFError: Error, CustomStringConvertible, Equatable {
    /// The file cannot be opened or read.
    case io(file: String, problem: String)
    /// The bytes contradict the format: truncated, a count or offset beyond the file, bad magic, …
    case malformed(file: String, field: String, problem: String)
    /// A well-formed file using something btxpipe does not implement (an architecture, a tensor
    /// type, a tokenizer model): refused by name rather than loaded as something else.
    case unsupported(file: String, field: String, feature: String)

    public var description: String {
        switch self {
        case let .io(file, problem): return "\(file): \(problem)"
        case let .malformed(file, field, problem): return "\(file): \(field): \(problem)"
        case let .unsupported(file, field, feature):
            return "\(file): \(field): unsupported: \(feature) (btxpipe refuses rather than load it as something else)"
        }
    }
}
