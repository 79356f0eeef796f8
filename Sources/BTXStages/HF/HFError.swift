/// What can go wrong between btxpipe and a Hugging Face checkpoint directory; each case names the
/// file or field and what was expected.
public enum HFError: Error, CustomStringConvertible, Equatable {
    /// A file the checkpoint needs is missing or unreadable.
    case missingFile(String, hint: String)
    /// `config.json` (or another JSON file) has a bad or missing field.
    case badConfig(file: String, field: String, expected: String)
    /// A feature btxpipe does not implement; importing it would silently compute something else.
    case unsupported(file: String, feature: String)
    /// The checkpoint's tensors do not match what its config describes.
    case badTensors(String)
    /// A model manifest in the store is not a model btxpipe can export or run.
    case notAModel(String)
    /// Bad command-line or stage input (an option out of range, an output directory in the way).
    case badRequest(String)

    public var description: String {
        switch self {
        case let .missingFile(path, hint): return "\(path): not found or unreadable (\(hint))"
        case let .badConfig(file, field, expected): return "\(file): \(field): expected \(expected)"
        case let .unsupported(file, feature):
            return "\(file): unsupported: \(feature) (btxpipe refuses rather than load it as something else)"
        case let .badTensors(problem): return "checkpoint tensors: \(problem)"
        case let .notAModel(problem): return "not a model btxpipe can use: \(problem)"
        case let .badRequest(problem): return problem
        }
    }
}
