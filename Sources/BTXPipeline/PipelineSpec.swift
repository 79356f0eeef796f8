import BTXStore

/// A parsed and validated pipeline: the spec file's settings and its stages, fanned out and templated.
public struct PipelineSpec {
    /// The spec file as the user named it.
    public var file: String
    /// `name:`; also names the `last/<pipeline>/<stage>` refs.
    public var name: String
    /// `store:`, relative to the current directory (default `store/`).
    public var store: String
    /// `remotes:` as written (used by push/pull).
    public var remotes: JSONValue
    /// `vars:`.
    public var vars: [String: JSONValue]
    /// `datasets:` after templating.
    public var datasets: [String: JSONValue]
    /// `models:` (named configs) after templating.
    public var models: [String: JSONValue]
    /// Every stage instance, in spec order (fan-out instances in item order).
    public var stages: [StageInstance]
    /// `slurm:`: the resources every submitted job asks for unless its stage's `resources:` says otherwise.
    public var slurm = SlurmResources()

    /// The instance called `name`, e.g. "train[code]".
    public func stage(_ name: String) -> StageInstance? { stages.first { $0.name == name } }
}

/// One runnable stage: a stage of the spec, or one fan-out instance of it.
public struct StageInstance: Hashable {
    /// The instance name: "seed", or "train[code]" for item `code` of the fan-out stage `train`.
    public var name: String
    /// The stage's name in the spec ("train" for every `train[…]`).
    public var group: String
    /// The fan-out item, nil for a stage without `foreach`.
    public var item: JSONValue?
    /// The stage kind's name.
    public var kind: String
    /// The parameters after templating.
    public var params: [String: JSONValue]
    /// The inputs, in spec order.
    public var inputs: [StageInput]
    /// Where the stage is defined, where its `kind:` is, and where each parameter is (for errors).
    public var location: SpecLocation
    var kindLocation: SpecLocation
    var paramLocations: [String: SpecLocation]
    /// `resources:`: what the stage's Slurm job asks for (not part of the cache key).
    public var resources = SlurmResources()

    /// Every stage this one reads, in input order.
    public var dependencies: [String] { inputs.flatMap(\.stages) }
}

/// One named input of a stage: a single stage output, or a list (`train[*]`, or a YAML list of references).
public struct StageInput: Hashable {
    /// The input's name, as the stage kind reads it.
    public var name: String
    /// The instance names it refers to, in order.
    public var stages: [String]
    /// True for a list input (its manifests are passed as `name.0`, `name.1`, …).
    public var isList: Bool

    /// (name the stage sees, instance) pairs: `name` itself, or `name.0`, `name.1`, … for a list.
    public var slots: [(slot: String, stage: String)] {
        isList ? stages.enumerated().map { ("\(name).\($0.offset)", $0.element) } : stages.map { (name, $0) }
    }
}
