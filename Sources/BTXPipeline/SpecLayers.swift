import Foundation
import Yams

/// One top-level entry of a spec (a var, a dataset, a model, a stage, or a setting), with the reader of
/// the file it was written in, so that its errors name that file's line and column.
struct SpecEntry {
    var key: String
    var keyNode: Node
    var value: Node
    var reader: SpecReader
}

/// The top level of a spec after `extends:`: each file's entries laid over its base's.
///
/// `extends: <path>` (relative to the extending file's directory) makes the base spec's `vars`,
/// `datasets`, `models`, `stages`, `store` and `remotes` the defaults; the base may itself extend another.
/// - `vars`, `datasets`, `models`: merged per top-level key; the child's value replaces the base's value
///   for that key whole (shallow: `vars: {eval: {max_batches: 2}}` replaces all of `vars.eval`).
/// - `stages`: a child stage named like a base stage replaces it whole, in the base's place; new child
///   stages follow the base's, in spec order; `<stage>: null` drops the base's stage of that name.
/// - `store`, `remotes`, `slurm`: the child's if given, else the base's. `name` is the child's own (required).
/// Templates in inherited stages are evaluated with the merged vars, datasets and models.
struct SpecLayers {
    static let topKeys = ["name", "extends", "store", "remotes", "vars", "datasets", "models", "stages", "slurm"]
    static let mergedSections = ["vars", "datasets", "models", "stages"]

    /// `name:` of the outermost file (nil when absent: the caller reports it).
    var name: SpecEntry?
    var store: SpecEntry?
    var remotes: SpecEntry?
    var slurm: SpecEntry?
    /// Section name → its merged entries, in order.
    var sections: [String: [SpecEntry]] = [:]

    /// The layers of the spec whose root is `root`, read by `reader`; `chain` lists the files that extend
    /// it (outermost first, for cycle errors).
    static func load(_ root: Node, reader: SpecReader, chain: [String] = []) throws -> SpecLayers {
        var own: [String: SpecEntry] = [:]
        for entry in try reader.mapping(root, field: "pipeline", allowed: topKeys, context: "the pipeline") {
            own[entry.key] = SpecEntry(key: entry.key, keyNode: entry.keyNode, value: entry.value, reader: reader)
        }
        var layers = try own["extends"].map { try base($0, chain: chain + [reader.file]) } ?? SpecLayers()
        layers.name = own["name"]
        layers.store = own["store"] ?? layers.store
        layers.remotes = own["remotes"] ?? layers.remotes
        layers.slurm = own["slurm"] ?? layers.slurm
        for section in mergedSections {
            guard let entry = own[section] else { continue }
            let children = try reader.mapping(entry.value, field: section).map {
                SpecEntry(key: $0.key, keyNode: $0.keyNode, value: $0.value, reader: reader)
            }
            layers.sections[section] = overlay(children, on: layers.sections[section] ?? [],
                                               dropsOnNull: section == "stages")
        }
        return layers
    }

    /// The base spec named by `extends:`, read relative to the extending file's directory.
    private static func base(_ entry: SpecEntry, chain: [String]) throws -> SpecLayers {
        let reader = entry.reader
        let at = reader.location(entry.value)
        let path = try reader.string(entry.value, field: "extends")
        let file = path.hasPrefix("/") ? path
            : (((reader.file as NSString).deletingLastPathComponent) as NSString).appendingPathComponent(path)
        let identity = { (name: String) in URL(fileURLWithPath: name).standardizedFileURL.resolvingSymlinksInPath().path }
        if chain.map(identity).contains(identity(file)) {
            throw SpecError.badExtends(at, problem: "cycle: \((chain + [file]).joined(separator: " -> "))")
        }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw SpecError.badExtends(at, problem: "cannot read '\(file)' (\((error as NSError).localizedDescription))")
        }
        guard let root = try SpecParser.compose(text, file: file) else {
            throw SpecError.badExtends(at, problem: "'\(file)' is empty")
        }
        return try load(root, reader: SpecReader(file: file), chain: chain)
    }

    /// `children` laid over `base`: same keys replaced in place (or dropped, for a null stage), new ones appended.
    private static func overlay(_ children: [SpecEntry], on base: [SpecEntry], dropsOnNull: Bool) -> [SpecEntry] {
        var merged = base
        for child in children {
            guard let index = merged.firstIndex(where: { $0.key == child.key }) else {
                merged.append(child)
                continue
            }
            if dropsOnNull, case .scalar(let scalar) = child.value, Node.scalar(scalar).tag == Tag(.null) {
                merged.remove(at: index)
            } else {
                merged[index] = child
            }
        }
        return merged
    }
}
