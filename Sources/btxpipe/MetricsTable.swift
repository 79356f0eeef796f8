import BTXStages
import BTXStore
import Foundation

/// Rows of `metrics.jsonl` objects with the stage as a column, rendered as JSON Lines, CSV or a table.
enum MetricsTable {
    /// Columns in this order first, then any others alphabetically.
    static let preferred = ["stage", "step", "tokens", "flops", "loss", "lr", "grad_norm", "aux_loss", "wall_s", "tokens_per_s",
                            "name", "role", "domain", "perplexity"]

    /// The rows of a cached stage's `metrics.jsonl` (none when its output has none), with `stage` added and
    /// the run record's wall-clock `timing` joined in by step.
    static func rows(stage: String, entry: ActionEntry, store: Store) throws -> [[String: JSONValue]] {
        let manifest = try store.manifest(entry.output)
        guard let object = manifest.objects[MetricsFile.objectName] else { return [] }
        var timing: [Int64: (wall: JSONValue, rate: JSONValue)] = [:]
        for item in (try? store.record(entry.record))?.metrics["timing"]?.arrayValue ?? [] {
            guard let triple = item.arrayValue, triple.count == 3, let step = triple[0].intValue else { continue }
            timing[Int64(step)] = (triple[1], triple[2])
        }
        return try MetricsFile.decode(store.object(object)).map { row in
            var row = row
            row["stage"] = .string(stage)
            if let step = row["step"]?.intValue {
                row["wall_s"] = timing[Int64(step)]?.wall ?? .null
                row["tokens_per_s"] = timing[Int64(step)]?.rate ?? .null
            }
            return row
        }
    }

    /// All columns present, in the preferred order.
    static func columns(_ rows: [[String: JSONValue]]) -> [String] {
        let present = Set(rows.flatMap(\.keys))
        return preferred.filter(present.contains) + present.subtracting(preferred).sorted()
    }

    /// The rows as text in `format`.
    static func render(_ rows: [[String: JSONValue]], format: Metrics.Format) -> String {
        let columns = columns(rows)
        switch format {
        case .jsonl:
            return rows.map { JSONValue.object($0).canonicalText + "\n" }.joined()
        case .csv:
            let lines = [columns.joined(separator: ",")] + rows.map { row in
                columns.map { csvField(row[$0]) }.joined(separator: ",")
            }
            return lines.map { $0 + "\n" }.joined()
        case .table:
            let cells = [columns] + rows.map { row in columns.map { tableCell(row[$0]) } }
            let widths = columns.indices.map { c in cells.map { $0[c].count }.max() ?? 0 }
            return cells.map { line in
                zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces) + "\n"
            }.joined()
        }
    }

    /// A CSV field (RFC 4180): empty for null, strings quoted when they hold a comma, quote or newline.
    static func csvField(_ value: JSONValue?) -> String {
        guard let value, value != .null else { return "" }
        guard case .string(let text) = value else { return value.canonicalText }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func tableCell(_ value: JSONValue?) -> String {
        switch value {
        case .none, .some(.null): return "-"
        case .some(.string(let text)): return text
        case .some(.double(let d)): return abs(d) >= 1e6 || (abs(d) < 1e-3 && d != 0) ? String(format: "%.3e", d) : String(format: "%.4f", d)
        case .some(let other): return other.canonicalText
        }
    }
}
