import BTXStore
import Foundation

/// A stage's metrics as data: JSON Lines, one canonical JSON object per line, stored as the object
/// `metrics.jsonl` of the stage's output manifest (training: one row every few steps; evaluation:
/// one row per domain), so pandas, jq or a plotting script read them without scraping logs.
///
/// NOTE: only deterministic columns go into the output (it is part of the cached result, which must be
/// the same bytes on every run); wall-clock columns (`wall_s`, `tokens_per_s`) live in the run
/// record's `timing` metric and `btxpipe metrics` joins them in by step.
public enum MetricsFile {
    /// The name of the object in the output manifest.
    public static let objectName = "metrics.jsonl"
    /// Most training rows kept per run (every N-th step, N = steps / maxRows rounded up, and the last).
    static let maxRows = 500

    /// Whether training step `done` (1-based count of steps done) of `total` gets a row.
    static func keeps(step done: Int, of total: Int) -> Bool {
        let every = max(1, (total + maxRows - 1) / maxRows)
        return done % every == 0 || done == total
    }

    /// `rows` as JSON Lines.
    public static func encode(_ rows: [JSONValue]) -> Data {
        Data(rows.map { $0.canonicalText + "\n" }.joined().utf8)
    }

    /// The rows of a `metrics.jsonl` object; a line that is not a JSON object is an error naming it.
    public static func decode(_ data: Data) throws -> [[String: JSONValue]] {
        try String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated().map { index, line in
            guard let row = (try? JSONValue.parse(Data(line.utf8)))?.objectValue else {
                throw StoreError.corrupt(path: "metrics.jsonl", reason: "line \(index + 1): expected a JSON object, got '\(line.prefix(40))'")
            }
            return row
        }
    }

    /// Stores `rows` and returns the object's hash (for `Manifest.objects[objectName]`).
    static func put(_ rows: [JSONValue], store: Store) throws -> ObjectHash {
        try store.putObject(encode(rows))
    }
}
