import BTXStore
import Foundation
import Yams

/// What one Slurm job asks for: a stage's `resources:`, the pipeline's `slurm:` defaults, or a profile
/// file (`submit --profile FILE`). Unset fields leave the choice to the next layer, then to Slurm.
///
/// ```yaml
/// slurm: {partition: cpu, time: "30", mem: 4G, account: btx, grace: 60}
/// stages:
///   expert: {kind: train, resources: {cpus: 8, mem: 16G, time: "4:00:00", gres: "gpu:1"}, …}
/// ```
/// Not part of any cache key: where a stage runs never changes what it computes.
public struct SlurmResources: Hashable, Sendable {
    /// `--partition`.
    public var partition: String?
    /// `--time`, in Slurm's syntax ("30" minutes, "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM:SS").
    public var time: String?
    /// `--cpus-per-task`.
    public var cpus: Int?
    /// `--mem`, e.g. "8G" (a bare number is megabytes, as in Slurm).
    public var mem: String?
    /// `--gres`, e.g. "gpu:1".
    public var gres: String?
    /// `--account`.
    public var account: String?
    /// `--qos`.
    public var qos: String?
    /// Seconds of warning before the time limit (`--signal=B:TERM@grace`): the stage checkpoints and
    /// the job requeues itself. Default `defaultGrace`.
    public var grace: Int?
    /// Further sbatch arguments, passed as written after everything else (so they win).
    public var sbatchArgs: [String] = []

    /// An empty set: Slurm's own defaults.
    public init() {}

    /// The keys of a `resources:` / `slurm:` mapping or a profile file.
    static let keys = ["partition", "time", "cpus", "mem", "gres", "account", "qos", "grace", "sbatch_args"]

    /// Default warning before the time limit: long enough to write a checkpoint of a mid-sized model.
    /// NOTE: Slurm checks time limits about once a minute, so the signal may come up to ~60 s late.
    public static let defaultGrace = 60

    /// sbatch arguments that btxpipe sets itself and `sbatch_args` may not override.
    static let reservedArguments = ["--array", "--dependency", "--output", "--error", "--job-name", "--parsable",
                                    "--open-mode", "--kill-on-invalid-dep", "--signal", "-a", "-d", "-o", "-e", "-J"]

    /// `self` with every field `other` sets replaced by `other`'s (`sbatch_args` appended).
    public func overlaid(by other: SlurmResources) -> SlurmResources {
        var merged = self
        merged.partition = other.partition ?? partition
        merged.time = other.time ?? time
        merged.cpus = other.cpus ?? cpus
        merged.mem = other.mem ?? mem
        merged.gres = other.gres ?? gres
        merged.account = other.account ?? account
        merged.qos = other.qos ?? qos
        merged.grace = other.grace ?? grace
        merged.sbatchArgs = sbatchArgs + other.sbatchArgs
        return merged
    }

    /// The sbatch arguments asking for these resources (without the signal, which the submitter adds).
    var sbatchArguments: [String] {
        var arguments: [String] = []
        if let partition { arguments.append("--partition=\(partition)") }
        if let time { arguments.append("--time=\(time)") }
        if let cpus { arguments.append("--cpus-per-task=\(cpus)") }
        if let mem { arguments.append("--mem=\(mem)") }
        if let gres { arguments.append("--gres=\(gres)") }
        if let account { arguments.append("--account=\(account)") }
        if let qos { arguments.append("--qos=\(qos)") }
        return arguments + sbatchArgs
    }

    /// `time` in seconds; nil when unset or unlimited.
    public var timeSeconds: Int? { time.flatMap(Self.seconds(ofSlurmTime:)) ?? nil }

    /// Seconds of a Slurm time limit: .some(nil) for "UNLIMITED"/"INFINITE", nil when malformed.
    public static func seconds(ofSlurmTime text: String) -> Int?? {
        if ["UNLIMITED", "INFINITE"].contains(text.uppercased()) { return .some(nil) }
        var days = 0, rest = Substring(text)
        if let dash = text.firstIndex(of: "-") {
            guard let d = Int(text[..<dash]), d >= 0 else { return nil }
            days = d
            rest = text[text.index(after: dash)...]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
        let n = parts.map { $0! }
        let hasDays = rest.startIndex != text.startIndex
        // Without days: M, M:S, H:M:S. With days: D-H, D-H:M, D-H:M:S.
        let seconds: Int
        switch (hasDays, n.count) {
        case (false, 1): seconds = n[0] * 60
        case (false, 2): seconds = n[0] * 60 + n[1]
        case (_, 3): seconds = n[0] * 3600 + n[1] * 60 + n[2]
        case (true, 1): seconds = n[0] * 3600
        case (true, 2): seconds = n[0] * 3600 + n[1] * 60
        default: return nil
        }
        return .some(days * 86400 + seconds)
    }
}

// MARK: parsing

extension SlurmResources {
    /// The resources of a profile file (a YAML mapping with the keys of `slurm:`); errors name `file:line:column`.
    public static func load(profile file: String) throws -> SlurmResources {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw SpecError.unreadable(file: file, reason: (error as NSError).localizedDescription)
        }
        guard let root = try SpecParser.compose(text, file: file) else { return SlurmResources() }
        return try parse(root, field: "profile", reader: SpecReader(file: file), scope: nil)
    }

    /// `node` (a `resources:` or `slurm:` mapping) read with `reader`, templates expanded in `scope`.
    static func parse(_ node: Node, field: String, reader: SpecReader, scope: TemplateScope?) throws -> SlurmResources {
        var resources = SlurmResources()
        for entry in try reader.mapping(node, field: field, allowed: keys, context: "'\(field)'") {
            let value = try reader.value(entry.value, scope: scope)
            func wrong(_ expected: String) -> SpecError {
                .wrongType(reader.location(entry.value), field: "\(field).\(entry.key)", expected: expected)
            }
            switch entry.key {
            case "cpus":
                guard let n = value.intValue, n >= 1, n <= 1_000_000 else { throw wrong("a whole number of CPUs ≥ 1") }
                resources.cpus = Int(n)
            case "grace":
                guard let n = value.intValue, n >= 1, n <= 65_535 else { throw wrong("seconds in 1...65535") }
                resources.grace = Int(n)
            case "time":
                // NOTE: YAML 1.1 reads a plain 1:30:00 as the base-60 integer 5400: take the scalar as written.
                var written: String?
                if case .scalar(let scalar) = entry.value, !scalar.string.contains("${") { written = scalar.string }
                let text = written ?? value.intValue.map { String($0) } ?? value.stringValue
                guard let text, seconds(ofSlurmTime: text) != nil else {
                    throw wrong("a Slurm time (\"30\" minutes, \"HH:MM:SS\", \"D-HH:MM:SS\" or \"UNLIMITED\")")
                }
                resources.time = text
            case "mem":
                let text = value.intValue.map { String($0) } ?? value.stringValue ?? ""
                let digits = text.prefix { $0.isNumber }
                guard !digits.isEmpty, ["", "K", "M", "G", "T"].contains(text.dropFirst(digits.count).uppercased()) else {
                    throw wrong("a memory size like 4096 (MB), 500M or 8G")
                }
                resources.mem = text
            case "sbatch_args":
                resources.sbatchArgs = try sbatchArgs(value, wrong: wrong)
            default:
                guard let text = value.stringValue, !text.isEmpty, !text.contains(where: \.isWhitespace) else {
                    throw wrong("a non-empty string without spaces")
                }
                switch entry.key {
                case "partition": resources.partition = text
                case "gres": resources.gres = text
                case "account": resources.account = text
                default: resources.qos = text
                }
            }
        }
        return resources
    }

    /// A list of sbatch options, none of those btxpipe sets itself.
    private static func sbatchArgs(_ value: JSONValue, wrong: (String) -> SpecError) throws -> [String] {
        guard let items = value.arrayValue?.compactMap(\.stringValue), items.count == value.arrayValue?.count,
              items.allSatisfy({ $0.hasPrefix("-") }) else {
            throw wrong("a list of sbatch options such as [\"--exclusive\", \"--constraint=avx512\"]")
        }
        if let reserved = items.first(where: { item in
            reservedArguments.contains(String(item.split(separator: "=", maxSplits: 1).first ?? ""))
        }) {
            throw wrong("sbatch options btxpipe does not set itself; '\(reserved)' is (use `grace` for --signal)")
        }
        return items
    }
}
