/// Errors of stage kinds and of the stage contract (parameters, inputs, cancellation).
public enum StageError: Error, CustomStringConvertible, Equatable {
    /// A parameter has the wrong type or is out of range.
    case badParameter(field: String, expected: String, actual: String)
    /// A required parameter is absent.
    case missingParameter(field: String, expected: String)
    /// The stage needs an input the spec did not give it.
    case missingInput(name: String)
    /// Ctrl-C (or SIGTERM) reached the stage; it saved a checkpoint if it had work to keep.
    case cancelled
    /// The stage could not do its work; `reason` says why in one line.
    case failed(String)

    public var description: String {
        switch self {
        case .badParameter(let field, let expected, let actual):
            return "parameter '\(field)': expected \(expected), got \(actual)"
        case .missingParameter(let field, let expected):
            return "parameter '\(field)' is required (\(expected))"
        case .missingInput(let name):
            return "input '\(name)' is required"
        case .cancelled:
            return "cancelled"
        case .failed(let reason):
            return reason
        }
    }
}
