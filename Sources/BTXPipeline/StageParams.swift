import BTXStore
import Foundation

/// A stage's parameters (the `params:` mapping of the spec after templating) with typed getters that
/// throw `StageError.badParameter` naming the field and what was expected.
///
/// Every getter records the name it was asked for, so the validator can report parameters that no
/// getter ever read as unknown (see `StageKind.validate`).
public struct StageParams: Sendable {
    /// The parameters as JSON (a canonical form of them goes into the stage key).
    public let values: [String: JSONValue]
    private let reads = ReadLog()

    /// Parameters from a JSON object.
    public init(_ values: [String: JSONValue] = [:]) { self.values = values }

    /// The names read by any getter so far.
    public var namesRead: Set<String> { reads.names }

    /// What the getters asked so far: each parameter's type, default and constraint (for `btxpipe kinds`).
    public var parametersRead: [ParameterInfo] { reads.infos }

    /// The raw value of `name`, or nil when absent.
    public func json(_ name: String) -> JSONValue? {
        reads.insert(name)
        return values[name]
    }

    /// An integer parameter; a double with an integral value is accepted. `rule` says how a default
    /// computed from other parameters is found (`btxpipe kinds` shows it instead of one value).
    public func int(_ name: String, default fallback: Int? = nil, rule: String? = nil, in range: ClosedRange<Int>? = nil) throws -> Int {
        var info = ParameterInfo(name, "integer", fallback.map { .int(Int64($0)) },
                                 range.map { "\($0.lowerBound)...\($0.upperBound)" }, placeholder: .int(Int64(range?.lowerBound ?? 1)))
        info.defaultRule = rule
        let value: Int = try get(name, fallback, "an integer", info) { $0.intValue }
        if let range, !range.contains(value) {
            throw StageError.badParameter(field: name, expected: "an integer in \(range.lowerBound)...\(range.upperBound)",
                                          actual: String(value))
        }
        return value
    }

    /// A number parameter (integers are accepted).
    public func double(_ name: String, default fallback: Double? = nil,
                       in range: ClosedRange<Double>? = nil) throws -> Double {
        let info = ParameterInfo(name, "number", fallback.map(JSONValue.double),
                                 range.map { "\($0.lowerBound)...\($0.upperBound)" }, placeholder: .double(range?.lowerBound ?? 1))
        let value: Double = try get(name, fallback, "a number", info) { $0.doubleValue }
        if let range, !range.contains(value) {
            throw StageError.badParameter(field: name, expected: "a number in \(range.lowerBound)...\(range.upperBound)",
                                          actual: String(value))
        }
        return value
    }

    /// A string parameter, optionally one of `choices`; `rule` as for `int`.
    public func string(_ name: String, default fallback: String? = nil, rule: String? = nil, oneOf choices: [String]? = nil) throws -> String {
        var info = ParameterInfo(name, "string", fallback.map(JSONValue.string), choices.map { $0.joined(separator: "|") },
                                 placeholder: .string(choices?.first ?? "x"))
        info.defaultRule = rule
        let value: String = try get(name, fallback, "a string", info) { $0.stringValue }
        if let choices, !choices.contains(value) {
            throw StageError.badParameter(field: name, expected: "one of \(choices.joined(separator: ", "))",
                                          actual: value)
        }
        return value
    }

    /// A boolean parameter.
    public func bool(_ name: String, default fallback: Bool? = nil) throws -> Bool {
        try get(name, fallback, "true or false", ParameterInfo(name, "bool", fallback.map(JSONValue.bool), placeholder: .bool(false))) {
            $0.boolValue
        }
    }

    /// A list parameter.
    /// `example` is a valid value, for walking past the parameter when it is required (`btxpipe kinds`).
    public func array(_ name: String, default fallback: [JSONValue]? = nil, example: [JSONValue] = []) throws -> [JSONValue] {
        try get(name, fallback, "a list", ParameterInfo(name, "list", fallback.map(JSONValue.array), placeholder: .array(example))) {
            $0.arrayValue
        }
    }

    /// A list of strings.
    public func strings(_ name: String, default fallback: [String]? = nil) throws -> [String] {
        let info = ParameterInfo(name, "list of strings", fallback.map { .array($0.map(JSONValue.string)) }, placeholder: .array([]))
        return try get(name, fallback, "a list of strings", info) { value in
            guard let items = value.arrayValue else { return nil }
            let strings = items.compactMap(\.stringValue)
            return strings.count == items.count ? strings : nil
        }
    }

    /// A mapping parameter (e.g. a model config inserted with `${models.s}`).
    /// `example` is a valid value, for walking past the parameter when it is required (`btxpipe kinds`).
    public func object(_ name: String, default fallback: [String: JSONValue]? = nil,
                       example: [String: JSONValue] = [:]) throws -> [String: JSONValue] {
        try get(name, fallback, "a mapping", ParameterInfo(name, "mapping", fallback.map(JSONValue.object), placeholder: .object(example))) {
            $0.objectValue
        }
    }

    private func get<T>(_ name: String, _ fallback: T?, _ expected: String, _ info: ParameterInfo,
                        _ convert: (JSONValue) -> T?) throws -> T {
        reads.insert(name)
        reads.describe(info)
        guard let value = values[name] else {
            if let fallback { return fallback }
            throw StageError.missingParameter(field: name, expected: expected)
        }
        guard let converted = convert(value) else {
            throw StageError.badParameter(field: name, expected: expected, actual: value.canonicalText)
        }
        return converted
    }
}

/// One parameter as a getter asked for it: what `btxpipe kinds` lists.
public struct ParameterInfo: Sendable, Equatable {
    /// The parameter's name.
    public var name: String
    /// integer, number, string, bool, list, list of strings or mapping.
    public var type: String
    /// The default; nil when the parameter is required.
    public var defaultValue: JSONValue?
    /// How the default follows from other parameters, when it is not one value (e.g. "min(20, steps / 10)").
    public var defaultRule: String?
    /// The default as `btxpipe kinds` prints it: the rule, else the value; nil when required.
    public var defaultText: String? { defaultRule ?? defaultValue?.canonicalText }
    /// A range (`1...64`) or choices (`a|b`), when the getter gave one.
    public var constraint: String?
    /// A value of the right type (for walking past a missing required parameter).
    public var placeholder: JSONValue

    init(_ name: String, _ type: String, _ defaultValue: JSONValue?, _ constraint: String? = nil, placeholder: JSONValue) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.constraint = constraint
        self.placeholder = placeholder
    }
}

/// The set of parameter names read, shared by copies of one `StageParams`.
private final class ReadLog: @unchecked Sendable {
    private let lock = NSLock()
    private var read: Set<String> = []
    private var described: [ParameterInfo] = []

    func insert(_ name: String) { lock.lock(); read.insert(name); lock.unlock() }
    var names: Set<String> { lock.lock(); defer { lock.unlock() }; return read }

    func describe(_ info: ParameterInfo) {
        lock.lock()
        if !described.contains(where: { $0.name == info.name }) { described.append(info) }
        lock.unlock()
    }
    var infos: [ParameterInfo] { lock.lock(); defer { lock.unlock() }; return described }
}
