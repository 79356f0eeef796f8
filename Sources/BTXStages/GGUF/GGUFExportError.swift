/// What can go wrong writing a GGUF file; each case names the tensor, field or path and what was expected.
public enum GGUFExportError: Error, CustomStringConvertible, Equatable {
    /// A tensor that cannot be written as asked (shape not whole blocks, non-finite values, missing).
    case badTensor(name: String, problem: String)
    /// The model's tokenizer.json cannot be written as llama.cpp metadata.
    case badTokenizer(field: String, expected: String)
    /// The output file could not be written.
    case io(path: String, problem: String)

    public var description: String {
        switch self {
        case let .badTensor(name, problem): return "tensor \(name): \(problem)"
        case let .badTokenizer(field, expected): return "tokenizer.json: \(field): expected \(expected)"
        case let .io(path, problem): return "\(path): \(problem)"
        }
    }
}
