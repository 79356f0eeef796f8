import ArgumentParser
import BTXStore
import Foundation

/// The shared `--store DIR` option; every command that touches the store includes it.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: "The store directory.")
    var storePath: String = "store"

    /// Opens (creating if needed) the store.
    func open() throws -> Store { try Store(root: URL(fileURLWithPath: storePath)) }
}

/// Byte counts for humans: "812 B", "3.4 MiB".
enum ByteFormat {
    static func human(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
