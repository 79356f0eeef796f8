import Foundation

/// A fresh directory under the system temp folder, removed when the value is deinitialised.
public final class TemporaryDirectory {
    /// The directory's location.
    public let url: URL

    public init(prefix: String = "btxpipe-test") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
