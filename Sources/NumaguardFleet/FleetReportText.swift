import NumaguardAudit
import NumaguardCore

/// `fleet report` for people: the verdict, hosts grouped by verdict (each failing host named
/// with why), failures grouped by check across hosts (one line for a check failing on twelve
/// hosts, split by what was seen), the host × check table of the checks that did not pass
/// everywhere, and the policies when hosts were judged against more than one. Everything a
/// certificate or a directory name put here is escaped (`Shown`): a host name or a finding
/// cannot steer the terminal.
public enum FleetReportText {
    /// Certified hosts named before "and N more": the failing ones are always all named.
    static let certifiedNamesShown = 20

    public static func render(_ report: FleetReport) -> String {
        let total = report.hosts.count
        var out = ["numaguard fleet report: \(total) host\(total == 1 ? "" : "s") at \(report.generatedAt); "
                   + "certificates older than \(Age.text(report.maxAgeSeconds)) are stale"]
        out.append("")
        for (verdict, hosts) in report.byVerdict {
            if verdict == .certified || verdict == .notCertified || verdict == .incomplete,
               hosts.allSatisfy({ $0.reason == nil && $0.notes.isEmpty }) {
                let limit = verdict == .certified ? certifiedNamesShown : hosts.count
                out.append("\(verdict.title) (\(hosts.count)): \(Shown.names(hosts.map(\.name), limit: limit))")
                continue
            }
            out.append("\(verdict.title) (\(hosts.count)):")
            for host in hosts {
                var line = "  \(Shown.text(host.name))"
                if let reason = host.reason { line += ": \(Shown.text(reason))" }
                out.append(line)
                out += host.notes.map { "    note: \(Shown.text($0))" }
            }
        }
        out += checkLines(report)
        out += table(report)
        if report.policies.count > 1 {
            out.append("")
            out.append("policies (\(report.policies.count) different):")
            for policy in report.policies {
                out.append("  sha256:\(Shown.text(policy.digest)) (\(Shown.names(policy.files, limit: 3))): "
                           + "\(policy.hosts.count) host\(policy.hosts.count == 1 ? "" : "s"): \(Shown.names(policy.hosts, limit: 20))")
            }
        }
        out.append("")
        out.append(verdictLine(report))
        return out.joined(separator: "\n") + "\n"
    }

    static func checkLines(_ report: FleetReport) -> [String] {
        var out: [String] = []
        let titles: [(CertificateRecord.Outcome, String)] = [(.fail, "failures"), (.incomplete, "incomplete"), (.waived, "waived")]
        for (outcome, title) in titles {
            let groups = report.byCheck.filter { $0.outcome == outcome }
            guard !groups.isEmpty else { continue }
            out.append("")
            out.append("\(title) by check:")
            for group in groups {
                let count = group.hosts.count
                out.append("  \(Shown.text(group.check)) (\(group.severity.rawValue)): \(count) host\(count == 1 ? "" : "s")")
                for actual in group.actuals {
                    out.append("    \(Shown.text(actual.actual)): \(Shown.names(actual.hosts, limit: 20))")
                }
            }
        }
        return out
    }

    /// Rows: hosts with a verified certificate and any check not passing; columns: the checks
    /// that did not pass on every such host, numbered, with a legend.
    static func table(_ report: FleetReport) -> [String] {
        let judged = report.hosts.filter { $0.certificate != nil }
        guard !judged.isEmpty else { return [] }
        let columns = Set(report.byCheck.map(\.check)).union(absentChecks(judged)).sorted()
        guard !columns.isEmpty else { return ["", "every check passed on every host with a verified certificate"] }
        var out = ["", "host × check (. pass, F fail, W waived, ? incomplete, - not checked):"]
        let rows = judged.compactMap { host -> (String, String)? in
            let cells = Dictionary(host.checks.map { ($0.check, $0.outcome) }, uniquingKeysWith: { first, _ in first })
            let marks = columns.map { check -> String in
                guard let outcome = cells[check] else { return "-" }
                return switch outcome {
                case .pass: "."
                case .fail: "F"
                case .waived: "W"
                case .incomplete: "?"
                }
            }
            guard marks.contains(where: { $0 != "." }) else { return nil }
            return (Shown.text(host.name), marks.joined(separator: " "))
        }
        let width = min(40, rows.map(\.0.count).max() ?? 0)
        let header = columns.indices.map { String(($0 + 1) % 10) }.joined(separator: " ")
        out.append("  " + String(repeating: " ", count: width) + "  " + header)
        for (name, marks) in rows {
            out.append("  " + name + String(repeating: " ", count: max(0, width - name.count)) + "  " + marks)
        }
        if rows.count < judged.count { out.append("  (\(judged.count - rows.count) more passing every check)") }
        for (index, check) in columns.enumerated() { out.append("  \(index + 1): \(Shown.text(check))") }
        return out
    }

    /// Checks some verified hosts ran and others did not (a workload only some hosts run).
    static func absentChecks(_ hosts: [FleetHost]) -> Set<String> {
        var counts: [String: Int] = [:]
        for host in hosts { for cell in host.checks { counts[cell.check, default: 0] += 1 } }
        return Set(counts.filter { $0.value < hosts.count }.keys)
    }

    static func verdictLine(_ report: FleetReport) -> String {
        let certified = report.hosts.filter { $0.verdict == .certified }.count
        let others = report.byVerdict.filter { $0.0 != .certified }.map { "\($0.1.count) \($0.0.title.lowercased())" }
        let counts = "\(certified) of \(report.hosts.count) hosts certified" + (others.isEmpty ? "" : "; " + others.joined(separator: ", "))
        return switch report.status {
        case .success: "FLEET CERTIFIED: \(counts)"
        case .incomplete: "FLEET INCOMPLETE (exit 3): \(counts)"
        default: "FLEET NOT CERTIFIED (exit 1): \(counts)"
        }
    }
}

/// Text from another host (a directory name, a check ID, a finding) as printed: control
/// characters, bidi controls and backslashes escaped (DeviceChecks.untrusted), and long
/// values cut. Public for the fleet commands' own messages, which name such values too.
public enum Shown {
    public static func text(_ text: String) -> String { DeviceChecks.untrusted(text, limit: 240) }

    /// `a, b, c` or `a, b, c and 12 more`.
    public static func names(_ names: [String], limit: Int) -> String {
        let shown = names.prefix(limit).map(text).joined(separator: ", ")
        return names.count > limit ? shown + " and \(names.count - limit) more" : shown
    }
}
