import NumaguardCore
import NumaguardHost
import NumaguardSnapshot

/// `audit --baseline`: every placement-relevant change since a snapshot becomes a finding
/// next to the policy's, so one report (and one exit status) covers both "is the host as
/// declared" and "is it as it was".
public enum Drift {
    /// One failure per counted change (`drift.<fact id>`, expected the baseline's value,
    /// actual today's), one incomplete per fact that could not be compared, or a single
    /// pass when nothing changed. Changes a diff shows but does not count are left to diff. The
    /// baseline is a file like any other input: its strings are shown escaped (`DiffText.shown`).
    public static func findings(_ diff: SnapshotDiff) -> [Finding] {
        var findings = diff.changes.map { change in
            Finding(check: .drift(fact: DiffText.controlsShown(change.id)), severity: .warning, outcome: .fail, subject: change.group.title,
                    expected: change.old.map(DiffText.shown) ?? "absent", actual: change.new.map(DiffText.shown) ?? "absent",
                    remediation: remediation(change.group))
        }
        findings += diff.notCompared.map { item in
            Finding(check: .drift(fact: DiffText.controlsShown(item.id)), severity: .warning, outcome: .incomplete, subject: "not compared",
                    expected: "readable in both snapshots", actual: "unreadable in the \(item.side) snapshot: \(DiffText.shown(item.path)): \(DiffText.shown(item.error))",
                    remediation: "run numaguard as root (debugfs and other users' files need it)")
        }
        if findings.isEmpty {
            findings.append(.pass(.drift(fact: nil), .warning, expected: "no placement-relevant change since \(DiffText.shown(diff.old.file)) (taken \(DiffText.shown(diff.old.takenAt)))",
                                  actual: "none"))
        }
        return findings
    }

    static func remediation(_ group: DriftGroup) -> String {
        let rebaseline = "if intended, take a new baseline with numaguard snapshot"
        switch group {
        case .topology: return "hardware, firmware (BIOS NUMA/SNC) or the kernel changed the topology: re-plan placement; \(rebaseline)"
        case .kernel: return "restore the old value (numaguard apply, sysctl or sysfs); \(rebaseline)"
        case .boot: return "restore the boot argument and reboot; \(rebaseline)"
        case .devices: return "the device moved node or its interrupts moved CPUs: check the slot, firmware and IRQ affinity; \(rebaseline)"
        case .cpusets: return "restore the cgroup cpuset; \(rebaseline)"
        case .actors: return "stop or restart the placement daemon as it was; \(rebaseline)"
        }
    }
}
