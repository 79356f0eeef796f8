import BTXStore
import Foundation

/// The source fingerprints of a pipeline's stages (`StageKind.sourceFingerprint`), for `Planner.sources`.
public enum SourceFingerprints {
    /// Stage instance name → fingerprint, for every stage whose kind reads outside its inputs.
    /// A fingerprint that cannot be computed (e.g. a missing path) becomes an "unreadable (<uuid>): …"
    /// marker, different on every run, which matches no cached key: the stage runs (and reports the
    /// real error, or recomputes what it cannot prove unchanged) and its result is never reused.
    public static func compute(spec: PipelineSpec, registry: StageRegistry, store: Store) -> [String: JSONValue] {
        var sources: [String: JSONValue] = [:]
        for stage in spec.stages {
            guard let kind = registry.kind(named: stage.kind) else { continue }
            do {
                if let fingerprint = try kind.sourceFingerprint(StageParams(stage.params), store: store) {
                    sources[stage.name] = fingerprint
                }
            } catch {
                // NOTE: unique per run, so the key matches no entry, ever: a stage whose inputs cannot
                // be fingerprinted is never cached (a constant marker would cache a stale result).
                sources[stage.name] = .string("unreadable (\(UUID().uuidString)): \(error)")
            }
        }
        return sources
    }
}
