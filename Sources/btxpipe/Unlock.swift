import ArgumentParser
import BTXPipeline
import Foundation

/// `btxpipe unlock PIPELINE`: remove stage locks left by dead processes (live ones are left alone).
struct Unlock: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove stage locks left by dead processes; list the ones still held.")

    @OptionGroup var options: PipelineOptions

    func run() throws {
        try CommandFailure.report {
            let session = try PipelineSession(options)
            let directory = session.store.root.appendingPathComponent("locks")
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
                .filter { $0.hasSuffix(".lock") }.sorted()
            if files.isEmpty { print("no locks") }
            for file in files {
                let path = directory.appendingPathComponent(file).path
                let holder = StageLock.readHolder(path).map { "\($0)" } ?? file
                if StageLock.removeIfStale(path) {
                    print("removed stale lock: \(holder)")
                } else {
                    print("held by a running process, left alone: \(holder)")
                }
            }
        }
    }
}
