import Foundation

/// This process's memory as the kernel reports it in `/proc/self/status` (Linux).
public enum ProcessStatus {
    /// A memory line (`key` such as "VmRSS:" or "VmHWM:") in MiB; 0 where /proc is unavailable.
    public static func mebibytes(_ key: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
              let kB = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
        return kB / 1024
    }
}
