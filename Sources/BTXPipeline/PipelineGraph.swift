/// The stages of a pipeline as a DAG: instances by name and a topological order (spec order among ready stages).
public struct PipelineGraph {
    /// Instances by name.
    public let stages: [String: StageInstance]
    /// Every instance, each after all it reads; ties keep spec order.
    public let order: [String]

    /// The graph of `spec`; throws `SpecError.cycle` naming the stages of a cycle.
    public init(_ spec: PipelineSpec) throws {
        stages = Dictionary(uniqueKeysWithValues: spec.stages.map { ($0.name, $0) })
        order = try Self.topologicalOrder(spec.stages)
    }

    /// `targets` and everything they read, transitively, in graph order (all stages when `targets` is empty).
    public func closure(of targets: [String]) -> [String] {
        if targets.isEmpty { return order }
        var needed: Set<String> = []
        var work = targets
        while let name = work.popLast() {
            guard needed.insert(name).inserted, let stage = stages[name] else { continue }
            work += stage.dependencies
        }
        return order.filter(needed.contains)
    }

    /// The stages that read `name`, transitively.
    public func dependents(of name: String) -> Set<String> {
        var result: Set<String> = []
        for candidate in order where stages[candidate]!.dependencies.contains(where: { $0 == name || result.contains($0) }) {
            result.insert(candidate)
        }
        return result
    }

    /// Depth-first post-order from each stage in spec order; a back edge is a cycle.
    private static func topologicalOrder(_ instances: [StageInstance]) throws -> [String] {
        let byName = Dictionary(uniqueKeysWithValues: instances.map { ($0.name, $0) })
        var state: [String: Bool] = [:]     // false: on the current path; true: done
        var order: [String] = []
        var path: [String] = []
        func visit(_ name: String) throws {
            if state[name] == true { return }
            if state[name] == false {
                let cycle = Array(path[path.firstIndex(of: name)!...]) + [name]
                throw SpecError.cycle(byName[name]!.location, stages: cycle)
            }
            state[name] = false
            path.append(name)
            for dependency in byName[name]!.dependencies { try visit(dependency) }
            path.removeLast()
            state[name] = true
            order.append(name)
        }
        for instance in instances { try visit(instance.name) }
        return order
    }
}
