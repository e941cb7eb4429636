import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import NumaguardSnapshot
import TestSupport
import XCTest

/// `audit --baseline`: a diff's counted changes become warnings keyed `drift.<id>`, with the
/// baseline's value as expected and today's as actual; what could not be compared is
/// incomplete; a host that has not moved gets one pass.
final class DriftTests: XCTestCase {
    private func snapshot(_ path: String) throws -> Snapshot {
        try SnapshotReader.read(HostRoot(path: path), toolVersion: "test", takenAt: "2026-11-21T00:00:00Z")
    }

    /// What `audit --baseline` adds: the host's snapshot now against the baseline.
    private func drift(root path: String, baseline: Snapshot) throws -> [Finding] {
        Drift.findings(SnapshotComparison.diff(old: baseline, oldFile: "base.json", new: try snapshot(path), newFile: path))
    }

    func testChangesBecomeWarnings() throws {
        let baseline = try snapshot(Fixtures.path("linux-6.1-2node"))
        let findings = try drift(root: Fixtures.path("linux-6.12-2node"), baseline: baseline)
        XCTAssertEqual(findings.map(\.check), [
            "drift.topology.node.0.memory", "drift.kernel.release", "drift.weighted_interleave.node.0", "drift.weighted_interleave.node.1",
        ], "node 1's memory moved by less than 1%: diff shows it, the audit does not count it")
        let release = findings[1]
        XCTAssertEqual(release.severity, .warning)
        XCTAssertEqual(release.outcome, .fail)
        XCTAssertEqual(release.subject, "kernel knobs")
        XCTAssertEqual(release.expected, "6.1.0-56-amd64")
        XCTAssertEqual(release.actual, "6.12.117+deb12-amd64")
        XCTAssertTrue(release.remediation.hasSuffix("if intended, take a new baseline with numaguard snapshot"), release.remediation)
        XCTAssertEqual(findings[2].expected, "absent")
    }

    /// The baseline is a file anyone could have written: its strings reach the audit's
    /// findings (and the terminal) escaped.
    func testABaselinesStringsAreShownEscaped() throws {
        var baseline = try snapshot(Fixtures.path("linux-6.1-2node"))
        baseline.kernel.release = "6.1\u{1B}[2J"
        baseline.unreadable = [SnapshotUnreadable(id: "debugfs.numa_balancing\u{1B}", path: "/x\u{9B}y", error: "e\u{07}")]
        let findings = try drift(root: Fixtures.path("linux-6.1-2node"), baseline: baseline)
        let shown = findings.flatMap { [$0.check, $0.expected, $0.actual] }.joined(separator: "|")
        XCTAssertFalse(shown.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, shown)
        XCTAssertTrue(shown.contains("6.1\\x1b[2J"), shown)
        XCTAssertTrue(shown.contains("unreadable in the old snapshot: /x\\xc2\\x9by: e\\x07") || shown.contains("unreadable in the old snapshot: /x\\x9by: e\\x07"), shown)
    }

    func testNoChangeIsOnePass() throws {
        let baseline = try snapshot(Fixtures.path("linux-rt-2node"))
        let findings = try drift(root: Fixtures.path("linux-rt-2node"), baseline: baseline)
        XCTAssertEqual(findings.map(\.check), ["drift"])
        XCTAssertEqual(findings.first?.outcome, .pass)
        XCTAssertEqual(findings.first?.expected, "no placement-relevant change since base.json (taken 2026-11-21T00:00:00Z)")
    }

    func testNotComparedIsIncomplete() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        var baseline = try snapshot(host.path)
        baseline.unreadable = [SnapshotUnreadable(id: "debugfs.numa_balancing", path: "/sys/kernel/debug/sched/numa_balancing",
                                                  error: "Permission denied")]
        baseline.kernel.numaBalancingDebug = [:]
        let findings = try drift(root: host.path, baseline: baseline)
        XCTAssertEqual(findings.map(\.check), ["drift.debugfs.numa_balancing"])
        XCTAssertEqual(findings.first?.outcome, .incomplete)
        XCTAssertEqual(findings.first?.actual,
                       "unreadable in the old snapshot: /sys/kernel/debug/sched/numa_balancing: Permission denied")
    }

    /// The audit and its drift read the host once: the kernel knobs the checks judge are the
    /// snapshot's, read a single time.
    func testABaselineAuditReadsTheHostOnce() throws {
        let baseline = try snapshot(Fixtures.path("linux-6.1-2node"))
        let log = HostReadLog()
        let policy = try PolicyLoader.parse("version: 1\nhost:\n  kernel: {numa_balancing: off}\n", file: "p.yaml")
        let audit = try Auditor.audit(root: HostRoot(path: Fixtures.path("linux-6.12-2node")).observed(by: log),
                                      policy: LoadedPolicy(policy: policy, file: "p.yaml", digest: "0"), today: Day(year: 2026, month: 12, day: 2),
                                      baseline: Evaluation.Baseline(snapshot: baseline, file: "base.json"))
        XCTAssertEqual(audit.report.findings.map(\.check), ["host.kernel.numa_balancing", "drift.topology.node.0.memory", "drift.kernel.release",
                                                            "drift.weighted_interleave.node.0", "drift.weighted_interleave.node.1"])
        XCTAssertEqual(log.paths.filter { $0 == "proc/sys/kernel/numa_balancing" }.count, 1, "\(log.paths)")
        XCTAssertEqual(log.paths.filter { $0 == "sys/devices/system/node/node0/meminfo" }.count, 1)
    }
}
