/// Text, Graphviz dot and Mermaid renderings of a pipeline's graph.
public enum GraphRendering {
    /// A tree per final stage (one nothing reads), each stage followed by the inputs it reads;
    /// a stage already drawn is shown once more by name with "(above)".
    public static func text(_ spec: PipelineSpec) -> String {
        let read = Set(spec.stages.flatMap(\.dependencies))
        let byName = Dictionary(uniqueKeysWithValues: spec.stages.map { ($0.name, $0) })
        var drawn: Set<String> = []
        var lines: [String] = []
        func draw(_ name: String, label: String, prefix: String, childPrefix: String) {
            let stage = byName[name]!
            let seen = !drawn.insert(name).inserted
            lines.append("\(prefix)\(label)\(name) (\(stage.kind))\(seen && !stage.inputs.isEmpty ? " (above)" : "")")
            if seen { return }
            let slots = stage.inputs.flatMap(\.slots)
            for (index, slot) in slots.enumerated() {
                let last = index == slots.count - 1
                draw(slot.stage, label: "\(slot.slot): ", prefix: childPrefix + (last ? "└── " : "├── "),
                     childPrefix: childPrefix + (last ? "    " : "│   "))
            }
        }
        for stage in spec.stages where !read.contains(stage.name) {
            draw(stage.name, label: "", prefix: "", childPrefix: "")
        }
        return lines.joined(separator: "\n")
    }

    /// Graphviz: `dot -Tsvg` draws it.
    public static func dot(_ spec: PipelineSpec) -> String {
        var lines = ["digraph \"\(spec.name)\" {", "  rankdir=LR;"]
        for stage in spec.stages {
            lines.append("  \"\(stage.name)\" [label=\"\(stage.name)\\n\(stage.kind)\"];")
            for slot in stage.inputs.flatMap(\.slots) {
                lines.append("  \"\(slot.stage)\" -> \"\(stage.name)\" [label=\"\(slot.slot)\"];")
            }
        }
        return (lines + ["}"]).joined(separator: "\n")
    }

    /// Mermaid flowchart (renders on GitHub in a ```mermaid block).
    public static func mermaid(_ spec: PipelineSpec) -> String {
        let ids = Dictionary(uniqueKeysWithValues: spec.stages.enumerated().map { ($0.element.name, "s\($0.offset)") })
        var lines = ["flowchart LR"]
        for stage in spec.stages {
            lines.append("  \(ids[stage.name]!)[\"\(stage.name)<br/>\(stage.kind)\"]")
        }
        for stage in spec.stages {
            for slot in stage.inputs.flatMap(\.slots) {
                lines.append("  \(ids[slot.stage]!) -->|\(slot.slot)| \(ids[stage.name]!)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
