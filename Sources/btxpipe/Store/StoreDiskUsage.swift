import ArgumentParser
import BTXStore

/// `btxpipe store du`: how big the store is, and how well it compresses.
struct StoreDiskUsage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "du", abstract: "Show the store's size by part.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let u = try options.open().diskUsage()
        let ratio = u.objectBytes > 0 ? Double(u.contentBytes) / Double(u.objectBytes) : 1
        if output.json {
            return output.print(["objects": .int(Int64(u.objects)), "objectBytes": .int(Int64(u.objectBytes)),
                                 "contentBytes": .int(Int64(u.contentBytes)), "ratio": .double(ratio),
                                 "actions": .int(Int64(u.actions)), "refs": .int(Int64(u.refs)),
                                 "strayFiles": .int(Int64(u.strayFiles)), "strayBytes": .int(Int64(u.strayBytes))])
        }
        print("objects: \(u.objects), \(ByteFormat.human(u.objectBytes)) on disk, \(ByteFormat.human(u.contentBytes)) content (ratio \(String(format: "%.2f", ratio)))")
        print("actions: \(u.actions)")
        print("refs:    \(u.refs)")
        print("stray:   \(u.strayFiles) files, \(ByteFormat.human(u.strayBytes)) (gc removes them)")
    }
}
