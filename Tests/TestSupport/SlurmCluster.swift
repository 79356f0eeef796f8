import Foundation
import XCTest

/// A real one-node Slurm (munged, slurmctld, slurmd from Debian's slurm-wlm and munge) under a
/// temp folder, for tests. Daemons run in the foreground so that the processes held are the daemons
/// themselves; `stop()` ends them by PID. Commands find it through `environment` (`SLURM_CONF`).
public final class SlurmCluster {
    /// The folder with the config, state, spool and logs.
    public let root: URL
    private var daemons: [Process] = []

    /// `SLURM_CONF` for sbatch, squeue and the jobs.
    public var environment: [String: String] { ["SLURM_CONF": root.appendingPathComponent("slurm.conf").path] }

    /// Starts the cluster; throws `XCTSkip` naming what is missing (packages, root).
    public init(root: URL) throws {
        let needed = ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/bin/squeue", "/usr/bin/setpriv"]
        if let missing = needed.first(where: { !FileManager.default.isExecutableFile(atPath: $0) }) {
            throw XCTSkip("SKIPPED: \(missing) is missing (apt-get install -y slurm-wlm munge)")
        }
        guard getuid() == 0 else { throw XCTSkip("SKIPPED: a test Slurm needs root (SlurmUser=root)") }
        self.root = root
        let munge = root.appendingPathComponent("munge")
        for folder in ["munge", "state", "spool", "log"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        // NOTE: munged refuses a socket folder it does not own, and must not run as root.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        _ = try runProcess(URL(fileURLWithPath: "/bin/chown"), ["munge:munge", munge.path])
        try SlurmCluster.config(root.path, controllerPort: try freePort(), nodePort: try freePort())
            .write(to: root.appendingPathComponent("slurm.conf"), atomically: true, encoding: .utf8)
        defer { if daemons.count < 3 { stop() } }
        try start("/usr/bin/setpriv", ["--reuid", "munge", "--regid", "munge", "--init-groups", "/usr/sbin/munged", "-F",
                                       "--socket=\(munge.path)/munge.sock", "--pid-file=\(munge.path)/munged.pid",
                                       "--log-file=\(munge.path)/munged.log", "--seed-file=\(munge.path)/seed"])
        try waitFor("munged socket") { FileManager.default.fileExists(atPath: munge.path + "/munge.sock") }
        let conf = root.appendingPathComponent("slurm.conf").path
        try start("/usr/sbin/slurmctld", ["-D", "-f", conf])
        try start("/usr/sbin/slurmd", ["-D", "-f", conf, "-N", "localhost"])
        try waitFor("an idle node") {
            let result = try? runProcess(URL(fileURLWithPath: "/usr/bin/sinfo"), ["-h", "-o", "%t"], environment: self.environment)
            return result?.stdout.contains("idle") ?? false
        }
    }

    private static func config(_ root: String, controllerPort: Int, nodePort: Int) -> String {
        """
        ClusterName=btxtest
        SlurmctldHost=localhost
        SlurmctldPort=\(controllerPort)
        SlurmdPort=\(nodePort)
        AuthType=auth/munge
        AuthInfo=socket=\(root)/munge/munge.sock
        CredType=cred/munge
        SlurmUser=root
        SlurmdUser=root
        StateSaveLocation=\(root)/state
        SlurmdSpoolDir=\(root)/spool
        SlurmctldPidFile=\(root)/slurmctld.pid
        SlurmdPidFile=\(root)/slurmd.pid
        SlurmctldLogFile=\(root)/log/slurmctld.log
        SlurmdLogFile=\(root)/log/slurmd.log
        ProctrackType=proctrack/pgid
        TaskPlugin=task/none
        SelectType=select/cons_tres
        SelectTypeParameters=CR_CPU
        AccountingStorageType=accounting_storage/none
        JobAcctGatherType=jobacct_gather/none
        JobCompType=jobcomp/none
        MpiDefault=none
        ReturnToService=2
        MinJobAge=3600
        NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
        PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP

        """
    }

    private func start(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let log = root.appendingPathComponent("log/\((executable as NSString).lastPathComponent)-\(daemons.count).out")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        daemons.append(process)
    }

    private func waitFor(_ what: String, _ ready: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if ready() { return }
            usleep(100_000)
        }
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("log").path)) ?? []
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "test Slurm: no \(what) after 20 s; logs: \(logs)"])
    }

    /// Stops the daemons by PID, newest first, and waits for them.
    public func stop() {
        for process in daemons.reversed() where process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        daemons = []
    }

    deinit { stop() }
}
