import BTXStore
import Foundation

/// The names a `${…}` template may use: `vars.x`, `models.s`, `datasets.d`, `item` (and `item.field` when
/// fan-out items are mappings), `pipeline` (the pipeline's name). Paths walk nested mappings with dots.
struct TemplateScope {
    /// The root mapping the paths walk.
    var root: [String: JSONValue]

    /// A string that is exactly one template (`"${models.s}"`) becomes the value itself, of any type;
    /// otherwise every template is replaced by its scalar value's text.
    func expand(_ text: String) throws -> JSONValue {
        let parts = try Self.split(text)
        if parts.count == 1, case .template(let path) = parts[0] { return try resolve(path) }
        var result = ""
        for part in parts {
            switch part {
            case .literal(let literal): result += literal
            case .template(let path): result += try Self.text(of: resolve(path), path: path)
            }
        }
        return .string(result)
    }

    /// The value at a dotted `path`; the error names the first missing component and a near name.
    func resolve(_ path: String) throws -> JSONValue {
        var current = JSONValue.object(root)
        var walked: [String] = []
        for component in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            guard let mapping = current.objectValue else {
                throw TemplateProblem("'\(walked.joined(separator: "."))' is not a mapping")
            }
            guard let next = mapping[component] else {
                let known = walked.isEmpty ? "" : "\(walked.joined(separator: ".")) has no "
                let hint = NameSuggestion.closest(to: component, among: Array(mapping.keys))
                    .map { " (did you mean '\($0)'?)" } ?? ""
                throw TemplateProblem("\(known.isEmpty ? "unknown name " : known)'\(component)'\(hint)")
            }
            walked.append(component)
            current = next
        }
        return current
    }

    enum Part: Equatable { case literal(String), template(String) }

    /// Splits text into literal runs and `${path}` templates.
    static func split(_ text: String) throws -> [Part] {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            if open.lowerBound > rest.startIndex { parts.append(.literal(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw TemplateProblem("'${' without a closing '}'")
            }
            let path = rest[open.upperBound..<close].trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty else { throw TemplateProblem("empty '${}'") }
            parts.append(.template(path))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        return parts
    }

    /// The text a scalar value interpolates as.
    static func text(of value: JSONValue, path: String) throws -> String {
        switch value {
        case .string(let s): return s
        case .int, .double, .bool: return value.canonicalText
        default: throw TemplateProblem("'\(path)' is a \(value.arrayValue != nil ? "list" : "mapping or null"); only a whole-string template may insert it")
        }
    }
}

/// Why a template failed, without a location (the reader adds it).
struct TemplateProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
