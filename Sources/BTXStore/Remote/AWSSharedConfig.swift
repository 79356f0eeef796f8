import Foundation

/// One of the AWS shared files, `~/.aws/credentials` or `~/.aws/config`, read as the AWS CLI reads
/// them: INI sections (`[name]` in credentials, `[default]` / `[profile name]` in config), `key = value`
/// lines, `#`/`;` comments, and one level of nested keys (`s3 =` followed by indented
/// `addressing_style = path`), kept as `s3.addressing_style`.
struct AWSSharedConfig: Equatable {
    /// The file read (for messages).
    var file: String
    /// Profile name → its keys. Config-file sections other than `default` and `profile …` (such as
    /// `sso-session …` or `services …`) are kept under their full header and never match a profile.
    var profiles: [String: [String: String]]

    /// The file at `path`, or nil when there is none.
    static func load(_ path: String, isConfig: Bool) throws -> AWSSharedConfig? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw RemoteError.credentials("cannot read \(path)")
        }
        return try parse(text, file: path, isConfig: isConfig)
    }

    /// Parses `text`; `isConfig` selects the config file's `[profile name]` headers.
    static func parse(_ text: String, file: String, isConfig: Bool) throws -> AWSSharedConfig {
        var profiles: [String: [String: String]] = [:]
        var section: String?
        var parent: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            func bad(_ expected: String) -> RemoteError { .credentials("\(file):\(index + 1): expected \(expected)") }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw bad("a section header like [name]") }
                let name = sectionName(String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces), isConfig: isConfig)
                if profiles[name] == nil { profiles[name] = [:] }
                (section, parent) = (name, nil)
                continue
            }
            guard let section else { throw bad("a [section] before the first key") }
            guard let equals = line.firstIndex(of: "=") else { throw bad("`key = value`") }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            let indented = raw.first?.isWhitespace ?? false
            if indented, let parent {
                profiles[section]?["\(parent).\(key)"] = value
            } else {
                profiles[section]?[key] = value
                parent = value.isEmpty ? key : nil
            }
        }
        return AWSSharedConfig(file: file, profiles: profiles)
    }

    /// The profile a section header names: `default`, `name` (credentials), `profile name` (config).
    private static func sectionName(_ header: String, isConfig: Bool) -> String {
        guard isConfig, header != "default" else { return header }
        let parts = header.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        return parts.count == 2 && parts[0] == "profile" ? parts[1] : "[\(header)]"
    }
}
