import Foundation
import NumaguardAudit
import NumaguardHost
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

    func testChangesBecomeWarnings() throws {
        let baseline = try snapshot(Fixtures.path("linux-6.1-2node"))
        let findings = try Drift.findings(root: HostRoot(path: Fixtures.path("linux-6.12-2node")), baseline: baseline, baselineFile: "base.json")
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

    func testNoChangeIsOnePass() throws {
        let baseline = try snapshot(Fixtures.path("linux-rt-2node"))
        let findings = try Drift.findings(root: HostRoot(path: Fixtures.path("linux-rt-2node")), baseline: baseline, baselineFile: "base.json")
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
        let findings = try Drift.findings(root: HostRoot(path: host.path), baseline: baseline, baselineFile: "base.json")
        XCTAssertEqual(findings.map(\.check), ["drift.debugfs.numa_balancing"])
        XCTAssertEqual(findings.first?.outcome, .incomplete)
        XCTAssertEqual(findings.first?.actual,
                       "unreadable in the old snapshot: /sys/kernel/debug/sched/numa_balancing: Permission denied")
    }
}
