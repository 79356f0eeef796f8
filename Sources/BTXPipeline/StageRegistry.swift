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
