/// A malformed or unwritable safetensors file, named with what is wrong.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    /// The file breaks the format; `problem` says how (one line).
    case malformed(file: String, problem: String)
    /// A manifest cannot be written as safetensors (e.g. it has no tensors).
    case unwritable(manifest: String, problem: String)

    public var description: String {
        switch self {
        case .malformed(let file, let problem):
            return "\(file): not a valid safetensors file: \(problem) (hint: the file may be truncated or not safetensors at all)"
        case .unwritable(let manifest, let problem):
            return "cannot write manifest \(manifest) as safetensors: \(problem)"
        }
    }
}
