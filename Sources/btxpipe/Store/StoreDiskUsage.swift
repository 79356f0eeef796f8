import ArgumentParser
import BTXStore

/// `btxpipe store du`: how big the store is, and how well it compresses.
struct StoreDiskUsage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "du", abstract: "Show the store's size by part.")

    @OptionGroup var options: StoreOptions

    func run() throws {
        let u = try options.open().diskUsage()
        let ratio = u.objectBytes > 0 ? Double(u.contentBytes) / Double(u.objectBytes) : 1
        print("objects: \(u.objects), \(ByteFormat.human(u.objectBytes)) on disk, \(ByteFormat.human(u.contentBytes)) content (ratio \(String(format: "%.2f", ratio)))")
        print("actions: \(u.actions)")
        print("refs:    \(u.refs)")
        print("stray:   \(u.strayFiles) files, \(ByteFormat.human(u.strayBytes)) (gc removes them)")
    }
}
