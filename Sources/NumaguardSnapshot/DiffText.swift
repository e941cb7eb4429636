/// `numaguard diff` for people: which two snapshots, the counted changes by meaning, then
/// what was shown but not counted and what could not be compared, then the verdict.
public enum DiffText {
    public static func render(_ diff: SnapshotDiff) -> String {
        var out = ["numaguard diff", "old: \(describe(diff.old))", "new: \(describe(diff.new))"]
        for group in DriftGroup.allCases {
            let changes = diff.changes.filter { $0.group == group }
            guard !changes.isEmpty else { continue }
            out.append("")
            out.append("\(group.title):")
            out += changes.map { "  \(line($0))" }
        }
        if !diff.notes.isEmpty {
            out.append("")
            out.append("not counted:")
            out += diff.notes.map { "  \(line($0)) (\($0.note ?? ""))" }
        }
        if !diff.notCompared.isEmpty {
            out.append("")
            out.append("not compared:")
            out += diff.notCompared.map { "  \($0.id): unreadable in \($0.side) snapshot (\($0.path): \($0.error))" }
        }
        out.append("")
        switch diff.status {
        case .success:
            out.append("NO DRIFT: nothing placement-relevant changed")
        case .incomplete:
            out.append("INCOMPLETE: no placement-relevant change among what both snapshots hold; \(diff.notCompared.count) not compared")
        default:
            let counts = DriftGroup.allCases.compactMap { group -> String? in
                let count = diff.changes.filter { $0.group == group }.count
                return count == 0 ? nil : "\(group.title) \(count)"
            }
            let total = diff.changes.count
            out.append("DRIFT: \(total) placement-relevant change\(total == 1 ? "" : "s") (\(counts.joined(separator: ", ")))")
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func line(_ change: DriftChange) -> String {
        "\(change.id): \(change.old ?? "absent") -> \(change.new ?? "absent")"
    }

    static func describe(_ side: DiffSide) -> String {
        "\(side.file) (host \(side.hostname ?? "unnamed"), kernel \(side.kernelRelease), boot \(side.bootID ?? "unknown"), "
            + "taken \(side.takenAt) by numaguard \(side.toolVersion))"
    }
}
