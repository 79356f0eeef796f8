import ArgumentParser

/// `btxpipe store …`: look into and maintain the content-addressed store.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Put, get, inspect, verify and garbage-collect the content-addressed store.",
        subcommands: [StorePut.self, StoreGet.self, StoreShow.self, StoreList.self, StoreVerify.self,
                      StoreGarbageCollect.self, StoreDiskUsage.self])
}
