import BTXStore
import Yams

/// Parses a pipeline spec (YAML) into a `PipelineSpec`: checks keys and types, expands templates and
/// fan-outs, and resolves input references. Kinds and parameters are checked by `SpecValidator`.
struct SpecParser {
    let reader: SpecReader
    /// `--set` overrides, applied after `extends:` and before templates.
    var overrides: [SpecOverride] = []

    static let stageKeys = ["kind", "params", "inputs", "foreach", "resources"]

    /// A stage of the spec before its inputs are resolved, with the reader of the file it is written in.
    private struct Group {
        var name: String
        var node: Node
        var reader: SpecReader
        var fields: [String: (keyNode: Node, value: Node)]
        var items: [(name: String, item: JSONValue?)]
    }

    /// Parses `text`, naming `file` in errors; `extends:` bases are read from disk relative to `file`.
    static func parse(_ text: String, file: String, overrides: [SpecOverride] = []) throws -> PipelineSpec {
        let reader = SpecReader(file: file)
        guard let root = try compose(text, file: file) else {
            throw SpecError.missingField(SpecLocation(file: file, line: 1, column: 1), field: "name", context: "the pipeline")
        }
        return try SpecParser(reader: reader, overrides: overrides).pipeline(root)
    }

    /// The YAML node tree of `text` (nil when empty), with syntax errors located in `file`.
    static func compose(_ text: String, file: String) throws -> Node? {
        do { return try Yams.compose(yaml: text) } catch let error as YamlError {
            throw Self.syntaxError(error, file: file)
        }
    }

    private func pipeline(_ root: Node) throws -> PipelineSpec {
        var layers = try SpecLayers.load(root, reader: reader)
        try layers.apply(overrides, reader: reader)
        guard let nameEntry = layers.name else {
            throw SpecError.missingField(reader.location(root), field: "name", context: "the pipeline")
        }
        let name = try reader.string(nameEntry.value, field: "name")
        try checkName(name, at: nameEntry.value, field: "name", reader: reader)
        let store = try layers.store.map { try $0.reader.string($0.value, field: "store") } ?? "store/"
        let remotes = try layers.remotes.map { try $0.reader.value($0.value, scope: nil) } ?? .array([])
        let vars = try object(layers.sections["vars"], scope: nil)
        var scope = TemplateScope(root: ["vars": .object(vars), "pipeline": .string(name)])
        let datasets = try object(layers.sections["datasets"], scope: scope)
        scope.root["datasets"] = .object(datasets)
        let models = try object(layers.sections["models"], scope: scope)
        scope.root["models"] = .object(models)
        guard let stageEntries = layers.sections["stages"] else {
            throw SpecError.missingField(reader.location(root), field: "stages", context: "the pipeline")
        }
        let stages = try self.stages(stageEntries, scope: scope)
        var spec = PipelineSpec(file: reader.file, name: name, store: store, remotes: remotes, vars: vars,
                                datasets: datasets, models: models, stages: stages)
        if let slurm = layers.slurm {
            spec.slurm = try SlurmResources.parse(slurm.value, field: "slurm", reader: slurm.reader, scope: scope)
        }
        return spec
    }

    /// A section's entries as one JSON object, each templated by the reader of its own file.
    private func object(_ entries: [SpecEntry]?, scope: TemplateScope?) throws -> [String: JSONValue] {
        var object: [String: JSONValue] = [:]
        for entry in entries ?? [] { object[entry.key] = try entry.reader.value(entry.value, scope: scope) }
        return object
    }

    // MARK: stages

    private func stages(_ entries: [SpecEntry], scope: TemplateScope) throws -> [StageInstance] {
        var groups: [Group] = []
        for entry in entries {
            let reader = entry.reader
            try checkName(entry.key, at: entry.keyNode, field: "stage name", reader: reader)
            var fields: [String: (Node, Node)] = [:]
            for field in try reader.mapping(entry.value, field: entry.key, allowed: Self.stageKeys,
                                             context: "stage '\(entry.key)'") {
                fields[field.key] = (field.keyNode, field.value)
            }
            guard fields["kind"] != nil else {
                throw SpecError.missingField(reader.location(entry.keyNode), field: "kind", context: "stage '\(entry.key)'")
            }
            let items = try fields["foreach"].map { try foreachItems($0.1, stage: entry.key, scope: scope, reader: reader) }
            groups.append(Group(name: entry.key, node: entry.keyNode, reader: reader, fields: fields,
                                items: items ?? [(entry.key, nil)]))
        }
        var instances: [StageInstance] = []
        var seen: Set<String> = []
        for group in groups {
            for (instanceName, item) in group.items {
                guard seen.insert(instanceName).inserted else {
                    throw SpecError.duplicateStage(group.reader.location(group.node), stage: instanceName)
                }
                instances.append(try instance(instanceName, item: item, group: group, groups: groups, scope: scope))
            }
        }
        return instances
    }

    /// The fan-out items of `foreach:` (a list, or a template naming one) with their instance names.
    /// Pipeline, stage and item names become store ref names (`last/<pipeline>/<stage>`) and file names.
    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

    private func checkName(_ name: String, at node: Node, field: String, reader: SpecReader) throws {
        guard !name.isEmpty, !name.hasPrefix("."), name.allSatisfy(Self.nameCharacters.contains) else {
            throw SpecError.wrongType(reader.location(node), field: field,
                                      expected: "letters, digits, '.', '_' or '-' (not starting with '.'), got '\(name)'")
        }
    }

    private func foreachItems(_ node: Node, stage: String, scope: TemplateScope,
                              reader: SpecReader) throws -> [(String, JSONValue?)] {
        guard let items = try reader.value(node, scope: scope).arrayValue, !items.isEmpty else {
            throw SpecError.wrongType(reader.location(node), field: "\(stage).foreach", expected: "a non-empty list")
        }
        return try items.map { item in
            if let text = item.stringValue ?? item["name"]?.stringValue {
                try checkName(text, at: node, field: "\(stage).foreach item", reader: reader)
            }
            switch item {
            case .string(let s): return ("\(stage)[\(s)]", item)
            case .int: return ("\(stage)[\(item.canonicalText)]", item)
            case .object(let fields):
                guard let name = fields["name"]?.stringValue else {
                    throw SpecError.missingField(reader.location(node), field: "name", context: "each mapping item of '\(stage).foreach'")
                }
                return ("\(stage)[\(name)]", item)
            default:
                throw SpecError.wrongType(reader.location(node), field: "\(stage).foreach",
                                          expected: "a list of strings, integers or mappings with a 'name'")
            }
        }
    }

    private func instance(_ name: String, item: JSONValue?, group: Group, groups: [Group],
                          scope: TemplateScope) throws -> StageInstance {
        var scope = scope
        if let item { scope.root["item"] = item }
        let reader = group.reader
        let kindNode = group.fields["kind"]!.value
        let kind = try reader.string(kindNode, field: "\(group.name).kind")
        var params: [String: JSONValue] = [:]
        var paramLocations: [String: SpecLocation] = [:]
        if let paramsNode = group.fields["params"]?.value {
            for entry in try reader.mapping(paramsNode, field: "\(group.name).params") {
                params[entry.key] = try reader.value(entry.value, scope: scope)
                paramLocations[entry.key] = reader.location(entry.keyNode)
            }
        }
        var inputs: [StageInput] = []
        if let inputsNode = group.fields["inputs"]?.value {
            for entry in try reader.mapping(inputsNode, field: "\(group.name).inputs") {
                inputs.append(try input(entry.key, entry.value, stage: name, groups: groups, scope: scope, reader: reader))
            }
        }
        var instance = StageInstance(name: name, group: group.name, item: item, kind: kind, params: params, inputs: inputs,
                                     location: reader.location(group.node), kindLocation: reader.location(kindNode),
                                     paramLocations: paramLocations)
        if let resourcesNode = group.fields["resources"]?.value {
            instance.resources = try SlurmResources.parse(resourcesNode, field: "\(group.name).resources", reader: reader, scope: scope)
        }
        return instance
    }

    // MARK: input references

    private func input(_ name: String, _ node: Node, stage: String, groups: [Group],
                       scope: TemplateScope, reader: SpecReader) throws -> StageInput {
        let isSequence: Bool
        let refNodes: [Node]
        if case .sequence(let sequence) = node { (isSequence, refNodes) = (true, Array(sequence)) } else { (isSequence, refNodes) = (false, [node]) }
        var stages: [String] = []
        var usedWildcard = false
        for refNode in refNodes {
            guard let reference = try reader.value(refNode, scope: scope).stringValue else {
                throw SpecError.wrongType(reader.location(refNode), field: "\(stage).inputs.\(name)",
                                          expected: "a stage reference like 'seed', 'train[code]' or 'train[*]'")
            }
            let resolved = try resolve(reference, at: reader.location(refNode), stage: stage, groups: groups)
            usedWildcard = usedWildcard || reference.hasSuffix("[*]")
            stages += resolved
        }
        return StageInput(name: name, stages: stages, isList: isSequence || usedWildcard)
    }

    /// The instance names a reference means: `seed`, `train[code]`, or every instance for `train[*]`.
    private func resolve(_ reference: String, at location: SpecLocation, stage: String, groups: [Group]) throws -> [String] {
        func fail(_ problem: String) -> SpecError { .badReference(location, stage: stage, reference: reference, problem: problem) }
        var groupName = reference, selector: String?
        if reference.hasSuffix("]"), let open = reference.firstIndex(of: "[") {
            groupName = String(reference[..<open])
            selector = String(reference[reference.index(after: open)..<reference.index(before: reference.endIndex)])
        }
        guard let group = groups.first(where: { $0.name == groupName }) else {
            let hint = NameSuggestion.closest(to: groupName, among: groups.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
            throw fail("no stage '\(groupName)'\(hint)")
        }
        let fansOut = group.fields["foreach"] != nil
        switch selector {
        case nil where fansOut:
            throw fail("'\(groupName)' fans out; name one instance as \(groupName)[<item>] or all as \(groupName)[*]")
        case nil:
            return [groupName]
        case "*" where fansOut:
            return group.items.map(\.name)
        case let selector? where fansOut:
            let name = "\(groupName)[\(selector)]"
            guard group.items.contains(where: { $0.name == name }) else {
                let names = group.items.map(\.name)
                let hint = NameSuggestion.closest(to: name, among: names).map { " (did you mean '\($0)'?)" } ?? ""
                throw fail("no instance '\(name)'\(hint); there are \(names.joined(separator: ", "))")
            }
            return [name]
        default:
            throw fail("'\(groupName)' does not fan out; refer to it as '\(groupName)'")
        }
    }

    private static func syntaxError(_ error: YamlError, file: String) -> SpecError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return .syntax(SpecLocation(file: file, line: mark.line, column: mark.column), problem: problem)
        default:
            return .syntax(SpecLocation(file: file, line: 1, column: 1), problem: "\(error)")
        }
    }
}
