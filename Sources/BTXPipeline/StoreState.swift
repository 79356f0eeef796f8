import BTXStore
import Foundation

/// The planner's view of a real store: the action cache and the `last/<pipeline>/<stage>` refs.
public struct StoreState: PlanState {
    /// The store read.
    public let store: Store

    /// A view of `store`.
    public init(store: Store) { self.store = store }

    public func cachedOutput(for key: ObjectHash) -> ObjectHash? {
        (try? store.action(key))??.output
    }

    public func lastRun(pipeline: String, stage: String) -> LastRun? {
        guard let hash = try? store.ref(Self.lastRunRef(pipeline: pipeline, stage: stage)),
              let data = try? store.object(hash) else { return nil }
        return try? JSONValue.parse(data).decode(LastRun.self)
    }

    /// Records `run` as the last run of `stage` (an object named by the ref `last/<pipeline>/<stage>`).
    public func setLastRun(_ run: LastRun, pipeline: String, stage: String) throws {
        let hash = try store.putObject(JSONValue(encoding: run).canonicalData)
        try store.setRef(Self.lastRunRef(pipeline: pipeline, stage: stage), to: hash)
    }

    /// The ref naming the last run of `stage`.
    public static func lastRunRef(pipeline: String, stage: String) -> String {
        "last/\(pipeline)/\(stage)"
    }
}
