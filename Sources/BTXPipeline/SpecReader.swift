import BTXStore
import Yams

/// Reads YAML nodes of one spec file into JSON values, with every error located at `file:line:column`.
struct SpecReader {
    /// The spec file as the user named it.
    let file: String

    /// Where `node` starts (line 1, column 1 when the parser gave no mark).
    func location(_ node: Node) -> SpecLocation {
        SpecLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// `node` as a mapping with string keys, only from `allowed` (when given).
    func mapping(_ node: Node, field: String, allowed: [String]? = nil,
                 context: String? = nil) throws -> [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let mapping) = node else {
            throw SpecError.wrongType(location(node), field: field, expected: "a mapping")
        }
        return try mapping.map { pair in
            guard case .scalar(let scalar) = pair.key else {
                throw SpecError.wrongType(location(pair.key), field: field, expected: "a mapping with string keys")
            }
            if let allowed, !allowed.contains(scalar.string) {
                throw SpecError.unknownKey(location(pair.key), key: scalar.string, context: context ?? field,
                                           suggestion: NameSuggestion.closest(to: scalar.string, among: allowed))
            }
            return (scalar.string, pair.key, pair.value)
        }
    }

    /// `node` as a plain string (no templates).
    func string(_ node: Node, field: String) throws -> String {
        guard case .scalar(let scalar) = node, scalar.style != .plain || Node.scalar(scalar).tag == Tag(.str) else {
            throw SpecError.wrongType(location(node), field: field, expected: "a string")
        }
        return scalar.string
    }

    /// `node` as JSON, expanding `${…}` templates in strings when a scope is given.
    func value(_ node: Node, scope: TemplateScope?) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            let typed = scalarValue(scalar)
            guard let scope, case .string(let text) = typed, text.contains("${") else { return typed }
            do { return try scope.expand(text) } catch let problem as TemplateProblem {
                throw SpecError.badTemplate(location(node), template: text, problem: problem.message)
            }
        case .sequence(let sequence):
            return .array(try sequence.map { try value($0, scope: scope) })
        case .mapping:
            var object: [String: JSONValue] = [:]
            for entry in try mapping(node, field: "mapping") { object[entry.key] = try value(entry.value, scope: scope) }
            return .object(object)
        case .alias:
            throw SpecError.wrongType(location(node), field: "alias", expected: "resolved (YAML aliases are not supported)")
        }
    }

    /// A scalar's JSON value: plain scalars by YAML 1.1 core tags, quoted ones always strings.
    private func scalarValue(_ scalar: Node.Scalar) -> JSONValue {
        guard scalar.style == .plain else { return .string(scalar.string) }
        let node = Node.scalar(scalar)
        switch node.tag {
        case Tag(.null): return .null
        case Tag(.bool): return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
        case Tag(.int): return node.int.map { .int(Int64($0)) } ?? .string(scalar.string)
        case Tag(.float): return node.float.map(JSONValue.double) ?? .string(scalar.string)
        default: return .string(scalar.string)
        }
    }
}
