/// A place in a pipeline spec file, printed as `file:line:column`.
public struct SpecLocation: Hashable, Sendable, CustomStringConvertible {
    /// The spec file as the user named it.
    public var file: String
    /// Line, from 1.
    public var line: Int
    /// Column, from 1.
    public var column: Int

    /// A location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// Why a pipeline spec was rejected; every case prints as one line starting with `file:line:column`.
public enum SpecError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// The YAML itself is malformed.
    case syntax(SpecLocation, problem: String)
    /// A mapping has a key it does not allow.
    case unknownKey(SpecLocation, key: String, context: String, suggestion: String?)
    /// A field has the wrong type.
    case wrongType(SpecLocation, field: String, expected: String)
    /// A required field is absent.
    case missingField(SpecLocation, field: String, context: String)
    /// `kind:` names no registered stage kind.
    case unknownKind(SpecLocation, stage: String, kind: String, suggestion: String?)
    /// An input names a stage (or fan-out instance) that does not exist, or names it the wrong way.
    case badReference(SpecLocation, stage: String, reference: String, problem: String)
    /// A `${…}` template cannot be resolved.
    case badTemplate(SpecLocation, template: String, problem: String)
    /// The kind's `validate` rejected a parameter.
    case badParameter(SpecLocation, stage: String, error: StageError)
    /// A parameter that the kind does not read.
    case unknownParameter(SpecLocation, stage: String, name: String, suggestion: String?)
    /// Two stage instances have the same name.
    case duplicateStage(SpecLocation, stage: String)
    /// `extends:` names a base spec that cannot be read, or that extends the spec back.
    case badExtends(SpecLocation, problem: String)
    /// The stages' inputs form a cycle; `stages` lists it with the first stage repeated at the end.
    case cycle(SpecLocation, stages: [String])
    /// A `--set PATH=VALUE` from the command line that cannot be applied.
    case badOverride(String, problem: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read the pipeline spec: \(reason)"
        case .syntax(let at, let problem):
            // NOTE: libyaml's messages quote the offending line and a caret on lines of their own.
            return "\(at): invalid YAML: \(problem.split(whereSeparator: \.isNewline).first.map(String.init) ?? problem)"
        case .unknownKey(let at, let key, let context, let suggestion):
            return "\(at): unknown key '\(key)' in \(context)\(hint(suggestion))"
        case .wrongType(let at, let field, let expected):
            return "\(at): '\(field)' must be \(expected)"
        case .missingField(let at, let field, let context):
            return "\(at): \(context) needs '\(field)'"
        case .unknownKind(let at, let stage, let kind, let suggestion):
            return "\(at): stage '\(stage)': unknown kind '\(kind)'\(hint(suggestion))"
        case .badReference(let at, let stage, let reference, let problem):
            return "\(at): stage '\(stage)': input '\(reference)': \(problem)"
        case .badTemplate(let at, let template, let problem):
            return "\(at): template '\(template)': \(problem)"
        case .badParameter(let at, let stage, let error):
            return "\(at): stage '\(stage)': \(error)"
        case .unknownParameter(let at, let stage, let name, let suggestion):
            return "\(at): stage '\(stage)': unknown parameter '\(name)'\(hint(suggestion))"
        case .duplicateStage(let at, let stage):
            return "\(at): stage '\(stage)' is defined twice"
        case .badExtends(let at, let problem):
            return "\(at): extends: \(problem)"
        case .cycle(let at, let stages):
            return "\(at): the inputs form a cycle: \(stages.joined(separator: " -> "))"
        case .badOverride(let text, let problem):
            return "--set \(text): \(problem)"
        }
    }

    private func hint(_ suggestion: String?) -> String {
        suggestion.map { " (did you mean '\($0)'?)" } ?? ""
    }
}
