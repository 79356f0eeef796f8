/// `--shard i/n`: which fan-out instances machine `index` of `count` computes.
///
/// Instance k (in item order) of every fan-out goes to shard k mod n. The assignment depends only on
/// the spec, so every machine computes the same split without talking to the others; instances of
/// different fan-outs with the same item position (`branch[code]`, `train[code]`) land on the same
/// shard, so a chain of per-item stages stays on one machine; appending items never moves the
/// existing ones. Stages outside fan-outs are not assigned: a shard computes (or pulls) them only as
/// inputs of its instances, and a final unsharded run finishes the rest.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    /// 0-based shard number.
    public let index: Int
    /// Number of shards.
    public let count: Int

    /// Parses "i/n" with 0 ≤ i < n.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (0..<count).contains(index) else {
            throw ShardError.malformed(text)
        }
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }

    /// The fan-out instances of `spec` assigned to this shard, in spec order.
    public func stages(of spec: PipelineSpec) -> [String] {
        var position: [String: Int] = [:]
        var chosen: [String] = []
        for stage in spec.stages where stage.item != nil {
            let k = position[stage.group, default: 0]
            position[stage.group] = k + 1
            if k % count == index { chosen.append(stage.name) }
        }
        return chosen
    }
}

/// A malformed `--shard` value.
public enum ShardError: Error, CustomStringConvertible, Equatable {
    /// Not "i/n" with 0 ≤ i < n.
    case malformed(String)

    public var description: String { "--shard \(self.text): expected i/n with 0 <= i < n, e.g. 0/2" }

    private var text: String { switch self { case .malformed(let text): return text } }
}
