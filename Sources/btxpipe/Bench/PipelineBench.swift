import BTXPipeline
import BTXStages
import BTXStore
import Foundation

/// How fast the pipeline machinery is when there is nothing to compute: parsing and validating a
/// fanned-out spec, planning it against the store, and a fully cached rerun (which must take milliseconds).
enum PipelineBench {
    /// Measures a pipeline of `width` text stages fanned in by one concat, and prints a table row and a JSON line.
    static func run(width: Int = 200) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("btxpipe-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let items = (0..<width).map { "d\($0)" }.joined(separator: ", ")
        let text = """
        name: bench
        stages:
          leaf: {kind: text, foreach: [\(items)], params: {text: "leaf ${item}"}}
          root: {kind: concat, inputs: {parts: "leaf[*]"}}
        """
        let store = try Store(root: directory)
        var options = RunOptions()
        options.cores = ProcessInfo.processInfo.activeProcessorCount
        options.jobs = options.cores
        let silent = ProgressView(isTerminal: false, color: false) { _ in }

        let parseSeconds = try time { _ = try PipelineSpec.parse(text, file: "bench.yaml", registry: StageCatalog.registry) }
        let spec = try PipelineSpec.parse(text, file: "bench.yaml", registry: StageCatalog.registry)
        let coldSeconds = try time {
            _ = try Runner(spec: spec, registry: StageCatalog.registry, store: store, options: options, observer: silent).run()
        }
        let planSeconds = try time {
            _ = try Planner(spec: spec, registry: StageCatalog.registry).plan(state: StoreState(store: store))
        }
        let cachedSeconds = try time {
            _ = try Runner(spec: spec, registry: StageCatalog.registry, store: store, options: options, observer: silent).run()
        }
        let stages = width + 1
        print(String(format: "pipeline  %4d stages  parse %7.2f ms  cold run %8.1f ms (%.2f ms/stage)  plan %7.2f ms  cached rerun %7.2f ms (%.3f ms/stage)",
                     stages, parseSeconds * 1e3, coldSeconds * 1e3, coldSeconds * 1e3 / Double(stages),
                     planSeconds * 1e3, cachedSeconds * 1e3, cachedSeconds * 1e3 / Double(stages)))
        let json: JSONValue = [
            "bench": "pipeline", "config": .string("\(stages) stages"),
            "parse_ms": .double(parseSeconds * 1e3), "cold_run_ms": .double(coldSeconds * 1e3),
            "plan_ms": .double(planSeconds * 1e3), "cached_rerun_ms": .double(cachedSeconds * 1e3),
            "cached_ms_per_stage": .double(cachedSeconds * 1e3 / Double(stages)),
        ]
        print(json.canonicalText)
    }

    private static func time(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
