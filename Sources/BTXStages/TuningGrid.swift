import BTXPipeline
import BTXStore
import Foundation

/// A learning-rate grid run identically for several methods, each scored on the dev split
/// (`HeldOutSplit.dev`), and each method's winner: its lowest average dev loss. Never reads a test
/// score: an evaluation of the test split is refused.
struct TuningGrid: Equatable {
    /// One grid value: its name (the training stage's `foreach` item, e.g. "3e-4") and the peak learning rate.
    struct Point: Equatable {
        var name: String
        var learningRate: Double
    }

    /// One method (rows sharing an evaluation `name`): its average dev loss at each grid point.
    struct Method: Equatable {
        var name: String
        var role: String
        /// Grid point name → average dev loss over the domains.
        var devLoss: [String: Double]
        /// The grid point with the lowest dev loss (the first in grid order on a tie).
        var winner: String
    }

    var points: [Point]
    var methods: [Method]

    /// The grid param: a list of `{name, learning_rate}`.
    static func points(_ p: StageParams) throws -> [Point] {
        let list = try p.array("grid", example: [["name": "1e-3", "learning_rate": 0.001], ["name": "1e-2", "learning_rate": 0.01]])
        let points = try list.map { item -> Point in
            guard let name = item["name"]?.stringValue, let rate = item["learning_rate"]?.doubleValue, rate > 0 else {
                throw StageError.badParameter(field: "grid", expected: "a list of {name: TEXT, learning_rate: NUMBER > 0}",
                                              actual: item.canonicalText)
            }
            return Point(name: name, learningRate: rate)
        }
        guard points.count >= 2, Set(points.map(\.name)).count == points.count else {
            throw StageError.badParameter(field: "grid", expected: "at least two points with distinct names", actual: JSONValue.array(list).canonicalText)
        }
        return points
    }

    /// The grid from dev evaluations (`input` names each manifest for errors), each labelled with its
    /// `grid_point`.
    init(points: [Point], evaluations: [(manifest: Manifest, input: String)]) throws {
        self.points = points
        var order: [String] = [], losses: [String: [String: Double]] = [:], roles: [String: String] = [:]
        var heldOut: (String, String)?
        for (m, input) in evaluations {
            guard m.kind == "evaluation", let name = m.metadata["name"]?.stringValue, let loss = m.metadata["average_loss"]?.doubleValue else {
                throw StageError.failed("input '\(input)' is a '\(m.kind)' manifest, expected an evaluation")
            }
            guard m.metadata["split"]?.stringValue == HeldOutSplit.dev.rawValue else {
                throw StageError.failed("input '\(input)' (\(name)) was scored on the \(m.metadata["split"]?.stringValue ?? "test") split: tuning picks on the dev split only (evaluate with split: dev)")
            }
            let sequences = m.metadata["held_out"]?.canonicalText ?? ""
            if let (first, firstInput) = heldOut, first != sequences {
                throw StageError.failed("inputs '\(firstInput)' and '\(input)' scored different dev sequences (evaluate every grid point with the same settings)")
            }
            heldOut = heldOut ?? (sequences, input)
            let point = try Self.point(of: m, input: input, points: points)
            if losses[name] == nil { order.append(name); roles[name] = m.metadata["role"]?.stringValue ?? "variant" }
            guard losses[name, default: [:]].updateValue(loss, forKey: point) == nil else {
                throw StageError.failed("input '\(input)': \(name) at learning rate \(point) is scored twice")
            }
        }
        guard !order.isEmpty else { throw StageError.missingInput(name: "results") }
        methods = try order.map { name in
            let scored = losses[name]!
            let missing = points.map(\.name).filter { scored[$0] == nil }
            guard missing.isEmpty else {
                throw StageError.failed("\(name) has no dev score at learning rate \(missing.joined(separator: ", ")): every method runs the whole grid")
            }
            // NOTE: a diverged run (NaN loss) never wins.
            let loss = { (point: String) in scored[point]!.isNaN ? Double.infinity : scored[point]! }
            let winner = points.map(\.name).min { loss($0) < loss($1) }!
            return Method(name: name, role: roles[name]!, devLoss: scored, winner: winner)
        }
    }

    /// The grid point an evaluated model was trained at: its evaluation's `grid_point` (set in the
    /// spec from the same `foreach` item that names the training stage).
    static func point(of m: Manifest, input: String, points: [Point]) throws -> String {
        guard let item = m.metadata["grid_point"]?.stringValue else {
            throw StageError.failed("input '\(input)' has no grid_point (evaluate each grid model with grid_point: the grid item's name)")
        }
        guard points.contains(where: { $0.name == item }) else {
            throw StageError.failed("input '\(input)': grid_point '\(item)' is not in the grid (\(points.map(\.name).joined(separator: ", ")))")
        }
        return item
    }

    /// The learning rate of a grid point.
    func learningRate(_ name: String) -> Double { points.first { $0.name == name }!.learningRate }
}
