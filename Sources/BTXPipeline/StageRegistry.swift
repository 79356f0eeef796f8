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
    /// The parameters `kind` accepts, in the order its `validate` reads them: found by validating
    /// empty parameters and filling each missing required one with a placeholder of its type, until
    /// validation passes or fails for another reason (then the parameters read so far).
    public static func parameters(of kind: any StageKind.Type) -> [ParameterInfo] {
        var values: [String: JSONValue] = [:]
        var known: [ParameterInfo] = []
        for _ in 0..<64 {
            let params = StageParams(values)
            defer { for info in params.parametersRead where !known.contains(where: { $0.name == info.name }) { known.append(info) } }
            do {
                try kind.init().validate(params)
                break
            } catch StageError.missingParameter(let field, _) {
                guard let info = params.parametersRead.first(where: { $0.name == field }), values[field] == nil else { break }
                values[field] = info.placeholder
            } catch {
                break
            }
        }
        return known
    }
}
