import Foundation
import Yams

/// One `--set PATH=VALUE` from the command line: a dotted path into the spec (`vars.seed`,
/// `stages.seed.params.steps`) and a value parsed as YAML (a scalar or flow: `2`, `[code, math]`).
///
/// An override changes the spec exactly as editing the file would: it replaces (or adds) the node at
/// that path after `extends:` is resolved and before templates are expanded, so the stage keys are
/// the ones the edited file gives.
public struct SpecOverride: Equatable, Sendable, CustomStringConvertible {
    /// The path's components (`["vars", "seed"]`).
    public let path: [String]
    /// The value as written after `=`.
    public let value: String

    /// Parses `PATH=VALUE`; a path needs non-empty components separated by dots.
    public init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "=") else {
            throw SpecError.badOverride(text, problem: "expected PATH=VALUE, e.g. vars.seed=2")
        }
        let path = text[..<equals].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, !path.contains(where: \.isEmpty) else {
            throw SpecError.badOverride(text, problem: "the path must be dotted keys, e.g. stages.seed.params.steps")
        }
        self.path = path
        value = String(text[text.index(after: equals)...])
    }

    public var description: String { "\(path.joined(separator: "."))=\(value)" }

    /// The value's YAML node (an empty value is YAML's null, as `key:` in a file is).
    func valueNode() throws -> Node {
        do { return try Yams.compose(yaml: value) ?? Node("null", Tag(.null)) } catch {
            let oneLine = "\(error)".split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && $0 != "^" }.joined(separator: " ")
            throw SpecError.badOverride(description, problem: "the value is not YAML: \(oneLine)")
        }
    }

    /// `node` with the value placed at `path` (mappings created on the way, as writing the keys would).
    func setting(_ path: ArraySlice<String>, in node: Node, to value: Node) throws -> Node {
        guard let key = path.first else { return value }
        let rest = path.dropFirst()
        switch node {
        case .mapping(let mapping):
            var pairs = mapping.map { ($0.key, $0.value) }
            if let index = pairs.firstIndex(where: { $0.0.scalar?.string == key }) {
                pairs[index].1 = try setting(rest, in: pairs[index].1, to: value)
            } else {
                pairs.append((Node(key), try setting(rest, in: Node([(Node, Node)]()), to: value)))
            }
            return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
        case .sequence(let sequence):
            guard let index = Int(key), sequence.indices.contains(index) else {
                throw SpecError.badOverride(description, problem: "'\(key)' is not an index of a list of \(sequence.count)")
            }
            var items = Array(sequence)
            items[index] = try setting(rest, in: items[index], to: value)
            return .sequence(Node.Sequence(items, sequence.tag, sequence.style, sequence.mark))
        case .scalar(let scalar) where node.tag == Tag(.null):
            // `key:` with nothing after it: the override fills the empty mapping.
            return try setting(path, in: .mapping(Node.Mapping([], Tag(.map), .any, scalar.mark)), to: value)
        default:
            throw SpecError.badOverride(description, problem: "cannot set '\(key)' inside a scalar value")
        }
    }
}

extension SpecLayers {
    /// The top-level keys that hold one entry each, and where.
    static let singleEntries: [String: WritableKeyPath<SpecLayers, SpecEntry?>] =
        ["name": \.name, "store": \.store, "remotes": \.remotes, "slurm": \.slurm]
    /// The top-level keys an override may start with.
    static let overridableKeys = ["name", "store", "remotes", "slurm"] + mergedSections

    /// Applies `overrides` in order; new nodes are attributed to `reader`'s file.
    mutating func apply(_ overrides: [SpecOverride], reader: SpecReader) throws {
        for override in overrides { try apply(override, reader: reader) }
    }

    private mutating func apply(_ override: SpecOverride, reader: SpecReader) throws {
        let top = override.path[0]
        let value = try override.valueNode()
        guard SpecLayers.overridableKeys.contains(top) else {
            let hint = NameSuggestion.closest(to: top, among: SpecLayers.overridableKeys).map { " (did you mean '\($0)'?)" } ?? ""
            throw SpecError.badOverride(override.description, problem: "'\(top)' cannot be set\(hint); "
                                        + "paths start with \(SpecLayers.overridableKeys.joined(separator: ", "))")
        }
        if let path = SpecLayers.singleEntries[top] {
            let old = self[keyPath: path] ?? SpecEntry(key: top, keyNode: Node(top), value: Node([(Node, Node)]()), reader: reader)
            var updated = old
            updated.value = try override.setting(override.path.dropFirst(), in: old.value, to: value)
            self[keyPath: path] = updated
            return
        }
        guard override.path.count >= 2 else {
            throw SpecError.badOverride(override.description, problem: "name an entry of '\(top)', e.g. \(top).NAME=VALUE")
        }
        var entries = sections[top] ?? []
        let name = override.path[1]
        if let index = entries.firstIndex(where: { $0.key == name }) {
            entries[index].value = try override.setting(override.path.dropFirst(2), in: entries[index].value, to: value)
        } else {
            let node = try override.setting(override.path.dropFirst(2), in: Node([(Node, Node)]()), to: value)
            entries.append(SpecEntry(key: name, keyNode: Node(name), value: node, reader: reader))
        }
        sections[top] = entries
    }
}
