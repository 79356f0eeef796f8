/// One batch job of a Slurm submission: a single stage, or a job array over the uncached instances
/// of one fan-out (task i runs `stages[i]`).
public struct SlurmJob: Equatable, Sendable {
    /// The job name, "<pipeline>:<stage or fan-out>".
    public var name: String
    /// The stage instances it runs, in task order.
    public var stages: [String]
    /// Indices (into the plan's jobs) of the jobs it waits for with `afterok`.
    public var dependencies: [Int]
    /// A fan-out runs as an array even with one instance left, so its task ids read the same way.
    public var isArray: Bool
    /// Its stage's `resources:` (a fan-out's array takes its stage's); the pipeline's defaults apply beneath.
    public var resources = SlurmResources()
}

/// Turns a run plan into Slurm jobs: every stage that is not cached becomes a job (a fan-out's
/// instances one job array), each depending on the jobs computing its inputs. A pure function,
/// tested on toy plans; `SlurmSubmitter` does the submitting.
public enum SlurmPlan {
    /// The jobs for `steps` (a plan of `spec`) in an order where every job follows those it depends on.
    public static func jobs(spec: PipelineSpec, steps: [PlanStep]) -> [SlurmJob] {
        let pending = steps.filter { $0.reason.runs }.map(\.stage)
        let grouped = group(pending, spec: spec, split: [])
        if let ordered = order(grouped, spec: spec) { return ordered }
        // NOTE: fan-out instances that depend on each other cannot share an array: one job each.
        return order(group(pending, spec: spec, split: Set(pending)), spec: spec) ?? []
    }

    /// Jobs without dependencies yet: one per fan-out group (except stages in `split`), one per other stage.
    private static func group(_ pending: [String], spec: PipelineSpec, split: Set<String>) -> [SlurmJob] {
        var jobs: [SlurmJob] = []
        var jobOfGroup: [String: Int] = [:]
        for name in pending {
            guard let stage = spec.stage(name) else { continue }
            if stage.item != nil && !split.contains(name) {
                if let index = jobOfGroup[stage.group] { jobs[index].stages.append(name); continue }
                jobOfGroup[stage.group] = jobs.count
                jobs.append(SlurmJob(name: "\(spec.name):\(stage.group)", stages: [name], dependencies: [], isArray: true,
                                     resources: stage.resources))
            } else {
                jobs.append(SlurmJob(name: "\(spec.name):\(name)", stages: [name], dependencies: [], isArray: false,
                                     resources: stage.resources))
            }
        }
        return jobs
    }

    /// The jobs with their dependencies, topologically sorted; nil when a job would wait for itself.
    private static func order(_ jobs: [SlurmJob], spec: PipelineSpec) -> [SlurmJob]? {
        var jobOfStage: [String: Int] = [:]
        for (index, job) in jobs.enumerated() { for stage in job.stages { jobOfStage[stage] = index } }
        let needs: [Set<Int>] = jobs.map { job in
            Set(job.stages.flatMap { spec.stage($0)?.dependencies ?? [] }.compactMap { jobOfStage[$0] })
        }
        var placed: [Int: Int] = [:]   // old index -> new index
        var ordered: [SlurmJob] = []
        while ordered.count < jobs.count {
            guard let next = jobs.indices.first(where: { placed[$0] == nil && needs[$0].allSatisfy { placed[$0] != nil } }) else {
                return nil
            }
            placed[next] = ordered.count
            var job = jobs[next]
            job.dependencies = needs[next].compactMap { placed[$0] }.sorted()
            ordered.append(job)
        }
        return ordered
    }
}
