import ArgumentParser
import BTXStore
import Foundation

/// `--json`: print one JSON document (canonical: sorted keys) instead of the table, for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON (one document, sorted keys) instead of the human-readable table.")
    var json = false

    /// Prints `value` as one line of canonical JSON.
    func print(_ value: JSONValue) {
        Swift.print(value.canonicalText)
    }
}

extension JSONValue {
    /// Any Codable value (a manifest, a run record) as JSON, through its own Codable form.
    static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONValue.parse(JSONEncoder().encode(value))
    }
}
