import ArgumentParser
import BTXPipeline
import BTXStages
import BTXStore

/// `btxpipe kinds [KIND]`: every stage kind, or one, with its parameters' types, defaults and constraints.
struct Kinds: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the stage kinds and their parameters (type, range or choices, default or required, doc).")

    @Argument(help: "Show only this kind.")
    var kind: String?

    @OptionGroup var output: OutputOptions

    func run() throws {
        try CommandFailure.report {
            let registry = StageCatalog.registry
            var names = registry.names
            if let kind {
                guard registry.kind(named: kind) != nil else {
                    let hint = NameSuggestion.closest(to: kind, among: names).map { " (did you mean '\($0)'?)" } ?? ""
                    throw CommandFailure.usage("unknown stage kind '\(kind)'\(hint); `btxpipe kinds` lists them")
                }
                names = [kind]
            }
            let kinds = names.compactMap { registry.kind(named: $0) }
            if output.json { return output.print(.array(kinds.map(Self.json))) }
            for (index, kind) in kinds.enumerated() {
                if index > 0 { print("") }
                print("\(kind.name) (v\(kind.version)): \(kind.summary)")
                for parameter in StageRegistry.parameters(of: kind) {
                    let value = parameter.defaultText.map { "default \($0)" } ?? "required"
                    let constraint = parameter.constraint.map { ", \($0)" } ?? ""
                    let doc = ParameterDocs.line(kind: kind.name, parameter: parameter.name).map { " — \($0)" } ?? ""
                    print("  \(parameter.name): \(parameter.type)\(constraint), \(value)\(doc)")
                }
            }
        }
    }

    /// One kind as JSON: name, version, summary and its parameters.
    static func json(_ kind: any StageKind.Type) -> JSONValue {
        let parameters = StageRegistry.parameters(of: kind).map { parameter -> JSONValue in
            var object: [String: JSONValue] = ["name": .string(parameter.name), "type": .string(parameter.type),
                                               "required": .bool(parameter.defaultText == nil)]
            if let value = parameter.defaultValue, parameter.defaultRule == nil { object["default"] = value }
            if let rule = parameter.defaultRule { object["default_rule"] = .string(rule) }
            if let constraint = parameter.constraint { object["constraint"] = .string(constraint) }
            if let doc = ParameterDocs.line(kind: kind.name, parameter: parameter.name) { object["doc"] = .string(doc) }
            return .object(object)
        }
        return .object(["kind": .string(kind.name), "version": .int(Int64(kind.version)), "summary": .string(kind.summary),
                        "parameters": .array(parameters)])
    }
}
