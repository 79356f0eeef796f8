import BTXStore
import Foundation

extension PipelineSpec {
    /// Reads, parses and validates the spec at `path` against the stage kinds of `registry`, with the
    /// `--set` `overrides` applied as edits of the file would be.
    public static func load(path: String, registry: StageRegistry, overrides: [SpecOverride] = []) throws -> PipelineSpec {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SpecError.unreadable(file: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(text, file: path, registry: registry, overrides: overrides)
    }

    /// Parses and validates spec `text`, naming `file` in errors.
    public static func parse(_ text: String, file: String, registry: StageRegistry,
                             overrides: [SpecOverride] = []) throws -> PipelineSpec {
        let spec = try SpecParser.parse(text, file: file, overrides: overrides)
        try SpecValidator(registry: registry).validate(spec)
        return spec
    }
}

/// Checks what parsing cannot: kinds exist, each kind accepts its parameters, and the inputs form no cycle.
struct SpecValidator {
    let registry: StageRegistry

    func validate(_ spec: PipelineSpec) throws {
        for stage in spec.stages { try validate(stage) }
        _ = try PipelineGraph(spec)
    }

    private func validate(_ stage: StageInstance) throws {
        guard let kind = registry.kind(named: stage.kind) else {
            throw SpecError.unknownKind(stage.kindLocation, stage: stage.name, kind: stage.kind,
                                        suggestion: NameSuggestion.closest(to: stage.kind, among: registry.names))
        }
        let params = StageParams(stage.params)
        do { try kind.init().validate(params) } catch let error as StageError {
            throw SpecError.badParameter(location(of: error, in: stage), stage: stage.name, error: error)
        }
        let known = params.namesRead
        for name in stage.params.keys.sorted() where !known.contains(name) {
            throw SpecError.unknownParameter(stage.paramLocations[name] ?? stage.location, stage: stage.name, name: name,
                                             suggestion: NameSuggestion.closest(to: name, among: known.sorted()))
        }
    }

    /// The parameter's own line when the error names one that is present, else the stage's `kind:`.
    private func location(of error: StageError, in stage: StageInstance) -> SpecLocation {
        switch error {
        case .badParameter(let field, _, _), .missingParameter(let field, _):
            return stage.paramLocations[field] ?? stage.kindLocation
        default:
            return stage.kindLocation
        }
    }
}
