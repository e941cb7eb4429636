import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// Decides which processes a workload's `match` claims. Every given field must hold.
final class ProcessMatcher {
    private let root: HostRoot
    private var regexes: [String: Regex<AnyRegexOutput>] = [:]
    private lazy var users: [String: Int] = Self.readUsers(root)

    init(root: HostRoot) { self.root = root }

    func matches(_ match: ProcessMatch, _ process: ProcessSnapshot) -> Bool {
        if let comm = match.comm, process.comm != comm { return false }
        if let exe = match.exe, process.exe != exe { return false }
        let cgroup = process.cgroups.first { $0.hierarchy == 0 }?.path ?? process.cgroups.first?.path ?? ""
        if let prefix = match.cgroup, !(cgroup == prefix || cgroup.hasPrefix(prefix.hasSuffix("/") ? prefix : prefix + "/")) {
            return false
        }
        if let unit = match.systemdUnit, !cgroup.split(separator: "/").contains(where: { $0 == unit }) { return false }
        if let user = match.user {
            guard let uid = process.uid, uid == (Int(user) ?? users[user] ?? -1) else { return false }
        }
        if let pattern = match.cmdline {
            guard let regex = regex(pattern), process.cmdline.joined(separator: " ").contains(regex) else { return false }
        }
        return true
    }

    /// Patterns were validated when the policy loaded; one that fails here matches nothing.
    private func regex(_ pattern: String) -> Regex<AnyRegexOutput>? {
        if let known = regexes[pattern] { return known }
        guard let compiled = try? Regex(pattern) else { return nil }
        regexes[pattern] = compiled
        return compiled
    }

    /// User names from the host's own /etc/passwd (under the same root as everything else).
    static func readUsers(_ root: HostRoot) -> [String: Int] {
        guard let text = try? root.readText("etc/passwd") else { return [:] }
        var users: [String: Int] = [:]
        for line in Lex.lines(text) {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count > 2, let uid = Int(fields[2]) { users[String(fields[0])] = uid }
        }
        return users
    }
}
