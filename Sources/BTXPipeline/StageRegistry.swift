import BTXStore

/// Name → stage kind type. `BTXStages.StageCatalog` builds the registry with every kind; the runner and
/// the spec validator take a registry as a value, so tests use registries of toy kinds.
public struct StageRegistry {
    /// The kinds by name.
    public let kinds: [String: any StageKind.Type]

    /// A registry of `kinds`; a name given twice is a programmer mistake.
    public init(_ kinds: [any StageKind.Type]) {
        var byName: [String: any StageKind.Type] = [:]
        for kind in kinds {
            precondition(byName[kind.name] == nil, "stage kind '\(kind.name)' registered twice")
            byName[kind.name] = kind
        }
        self.kinds = byName
    }

    /// The kind called `name`, or nil.
    public func kind(named name: String) -> (any StageKind.Type)? { kinds[name] }

    /// All kind names, sorted (for "did you mean" hints and listings).
    public var names: [String] { kinds.keys.sorted() }
}

extension StageRegistry {
    /// What `parameters(of:)` found: the parameters, and whether validation passed at the end (so
    /// every parameter `validate` reads was reached) rather than stopping at an error it could not fill.
    public struct Survey {
        /// The parameters in the order `validate` first read them.
        public var parameters: [ParameterInfo]
        /// True when the last validation passed.
        public var complete: Bool
    }

    /// The parameters `kind` accepts, in the order its `validate` reads them (see `survey(of:)`).
    public static func parameters(of kind: any StageKind.Type) -> [ParameterInfo] { survey(of: kind).parameters }

    /// Validates empty parameters, and after each error naming a field not yet given (missing, or
    /// refused at its default, e.g. "give path or url") gives that field a placeholder of its type
    /// and validates again, until validation passes or fails on a field already given.
    public static func survey(of kind: any StageKind.Type) -> Survey {
        var values: [String: JSONValue] = [:]
        var known: [ParameterInfo] = []
        for _ in 0..<64 {
            let params = StageParams(values)
            let outcome = Result { try kind.init().validate(params) }
            for info in params.parametersRead where !known.contains(where: { $0.name == info.name }) { known.append(info) }
            let field: String
            switch outcome {
            case .success: return Survey(parameters: known, complete: true)
            case .failure(StageError.missingParameter(let name, _)): field = name
            case .failure(StageError.badParameter(let name, _, _)): field = name
            case .failure: return Survey(parameters: known, complete: false)
            }
            guard let info = params.parametersRead.first(where: { $0.name == field }), values[field] == nil else { break }
            values[field] = info.placeholder
        }
        return Survey(parameters: known, complete: false)
    }
}
