/// What can go wrong when building, loading or feeding a model; each case names the field, tensor
/// or position involved and what was expected.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// A configuration field is missing or out of range.
    case invalidConfig(field: String, reason: String)
    /// A named tensor is not part of this model.
    case unknownParameter(String)
    /// A tensor this model needs was not supplied.
    case missingParameter(String)
    /// A tensor has the wrong number of elements or shape.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// A token id outside the vocabulary.
    case tokenOutOfRange(token: Int, vocabularySize: Int, position: Int)
    /// A batch of the wrong size, or a sequence longer than the model was built for.
    case badInput(String)
    /// A training hyper-parameter out of range.
    case invalidHyperparameter(field: String, reason: String)
    /// A saved training state that does not fit this run.
    case badState(String)
    /// The loss became NaN or infinite (learning rate too high, or bad data).
    case nonFiniteLoss(step: Int)

    public var description: String {
        switch self {
        case let .invalidConfig(field, reason): return "model config: \(field): \(reason)"
        case let .unknownParameter(name): return "unknown parameter '\(name)' (not part of this model's architecture)"
        case let .missingParameter(name): return "missing parameter '\(name)'"
        case let .shapeMismatch(name, expected, actual):
            return "parameter '\(name)': expected shape \(expected), got \(actual)"
        case let .tokenOutOfRange(token, vocab, position):
            return "token \(token) at position \(position) is outside the vocabulary 0..<\(vocab) (tokenizer and model config disagree?)"
        case let .badInput(reason): return "model input: \(reason)"
        case let .invalidHyperparameter(field, reason): return "training: \(field): \(reason)"
        case let .badState(reason): return "training state: \(reason)"
        case let .nonFiniteLoss(step): return "training diverged: loss is not finite at step \(step) (lower learning_rate or check the data)"
        }
    }
}
