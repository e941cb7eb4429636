import NumaguardSnapshot

/// `fleet diff` for people: the hosts, then each differing fact under its group with the
/// majority and the outliers by name ("kernel.numa_balancing: majority 0 (5 hosts); host-c: 1"),
/// a tie listed group by group, what could not be compared, what is never compared, the verdict.
public enum FleetDiffText {
    static let namesShown = 20

    public static func render(_ diff: FleetDiff) -> String {
        var out = ["numaguard fleet diff: \(diff.hosts.count) snapshots, \(diff.factsCompared) placement-relevant facts"]
        for host in diff.hosts {
            var line = "  \(Shown.text(host.name)): \(Shown.text(host.file)) (kernel \(Shown.text(host.kernelRelease))"
            if let hostname = host.hostname, hostname != host.name { line += ", hostname \(Shown.text(hostname))" }
            out.append(line + ")")
        }
        for group in DriftGroup.allCases {
            let differences = diff.differences.filter { $0.group == group }
            guard !differences.isEmpty else { continue }
            out.append("")
            out.append("\(group.title):")
            out += differences.map { "  " + line($0) }
        }
        if !diff.notCompared.isEmpty {
            out.append("")
            out.append("not compared:")
            out += diff.notCompared.map { "  \(Shown.text($0.id)) on \(Shown.text($0.host)): unreadable (\(Shown.text($0.path)): \(Shown.text($0.error)))" }
        }
        out.append("")
        out.append("never compared: " + FleetDiff.excluded.map(\.0).joined(separator: ", "))
        out.append("")
        switch diff.status {
        case .success:
            out.append("FLEET AGREES: all \(diff.hosts.count) hosts hold the same value for every fact")
        case .incomplete:
            let whole = diff.notCompared.filter { $0.id == FleetDiff.wholeSnapshot }.count
            let facts = diff.notCompared.count - whole
            out.append("FLEET AGREES on what was compared; INCOMPLETE: "
                       + [whole > 0 ? "\(whole) snapshot(s) not read" : nil, facts > 0 ? "\(facts) fact(s) not compared" : nil]
                           .compactMap { $0 }.joined(separator: ", "))
        default:
            let outliers = diff.outlierHosts
            out.append("FLEET DIFFERS: \(diff.differences.count) fact\(diff.differences.count == 1 ? "" : "s") differ; "
                       + "\(outliers.count) host\(outliers.count == 1 ? "" : "s") outside a majority: \(Shown.names(outliers, limit: namesShown))")
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func line(_ difference: FleetDiff.Difference) -> String {
        func value(_ group: FleetDiff.ValueGroup) -> String { group.value.map(Shown.text) ?? "absent" }
        func hosts(_ group: FleetDiff.ValueGroup) -> String { Shown.names(group.hosts, limit: namesShown) }
        let id = Shown.text(difference.id)
        guard let majority = difference.majority else {
            return "\(id): no majority; " + difference.outliers.map { "\(value($0)) (\(hosts($0)))" }.joined(separator: "; ")
        }
        let count = majority.hosts.count
        return "\(id): majority \(value(majority)) (\(count) host\(count == 1 ? "" : "s")); "
            + difference.outliers.map { "\(hosts($0)): \(value($0))" }.joined(separator: "; ")
    }
}
