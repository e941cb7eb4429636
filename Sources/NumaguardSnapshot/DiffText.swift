import NumaguardCore
import NumaguardOutput

/// `numaguard diff` for people: which two snapshots, the counted changes by meaning, then
/// what was shown but not counted and what could not be compared, then the verdict.
///
/// Every string that came from a snapshot file is shown through `UntrustedText`: a snapshot
/// is input like any other (a host name, a boot parameter or a path written with an escape
/// sequence in it went to the terminal as it was).
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
            out += diff.notes.map { "  \(line($0)) (\(shown($0.note ?? "")))" }
        }
        if !diff.notCompared.isEmpty {
            out.append("")
            out.append("not compared:")
            out += diff.notCompared.map { "  \(shown($0.id)): unreadable in \($0.side) snapshot (\(shown($0.path)): \(shown($0.error)))" }
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
        "\(shown(change.id)): \(change.old.map(shown) ?? "absent") -> \(change.new.map(shown) ?? "absent")"
    }

    static func describe(_ side: DiffSide) -> String {
        "\(shown(side.file)) (host \(side.hostname.map(shown) ?? "unnamed"), kernel \(shown(side.kernelRelease)), "
            + "boot \(side.bootID.map(shown) ?? "unknown"), taken \(shown(side.takenAt)) by numaguard \(shown(side.toolVersion)))"
    }

    /// A string from a snapshot file as text shows it (here and in `audit --baseline`'s
    /// findings): escaped, and a long boot parameter whole (up to a page), not cut at a
    /// message's length.
    public static func shown(_ text: String) -> String {
        UntrustedText.escaped(text, limit: 4096)
    }

    /// Controls escaped, backslashes kept: for a message numaguard put together whose quoted
    /// parts are escaped already (a `ParseError` escapes what it quotes; `shown` would turn its
    /// `\x1b` into `\x5cx1b`), a path as the host spells it, or a fact id that a waiver must
    /// still match as written (`\x2d` in a systemd-escaped cgroup name).
    public static func controlsShown(_ text: String) -> String {
        UntrustedText.escaped(text, limit: 4096, authored: true)
    }
}
