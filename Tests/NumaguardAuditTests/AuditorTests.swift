import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// The audit over hosts recorded from a real 2-node 6.1 guest (Tests/Fixtures/linux-6.1-2node:
/// PID 122 `numactl --membind=1 probe 64`, 139 `numactl --interleave=all probe 64`,
/// 168 `probe 16`; numa_balancing was 1).
final class AuditorTests: XCTestCase {
    private var copies: [URL] = []

    override func tearDown() {
        for copy in copies { try? FileManager.default.removeItem(at: copy) }
        copies = []
    }

    private func audit(_ yaml: String, keeping pids: [Int], fixture: String = "linux-6.1-2node",
                       today: Day = Day(year: 2026, month: 11, day: 21)) throws -> AuditReport {
        let root = try Fixtures.copy(fixture, keeping: pids)
        copies.append(root)
        let policy = try PolicyLoader.parse(yaml, file: "test.yaml")
        return try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "0"), today: today)
    }

    private func finding(_ report: AuditReport, _ check: String) throws -> Finding {
        try XCTUnwrap(report.findings.first { $0.check == check }, "no \(check) in \(report.findings.map(\.check))")
    }

    func testCompliantHostPasses() throws {
        let report = try audit("""
            version: 1
            host: {kernel: {numa_balancing: normal}, topology: {nodes: 2, cpus: {0: "0-1", 1: "2-3"}}}
            workloads:
              - name: engine
                match: {comm: probe}
                running: {min: 1, max: 1}
                cpus: {nodes: [0, 1]}
                memory: {policy: bind, nodes: [1], max_remote: 1%}
            """, keeping: [122])
        XCTAssertEqual(report.status, .success, report.findings.filter { $0.outcome != .pass }.map(\.check).description)
        XCTAssertEqual(report.summary.failed, 0)
        for check in ["workload.engine.running", "workload.engine.cpus", "workload.engine.memory.policy",
                      "workload.engine.memory.interleave", "workload.engine.memory.remote", "host.topology.nodes"] {
            XCTAssertEqual(try finding(report, check).outcome, .pass, check)
        }
        XCTAssertEqual(try finding(report, "workload.engine.memory.policy").pid, 122)
    }

    func testDefaultNumaBalancingIsFlagged() throws {
        let report = try audit(String(contentsOfFile: Command.repositoryRoot.appendingPathComponent("policies/latency-baseline.yaml").path, encoding: .utf8),
                               keeping: [])
        let balancing = try finding(report, "host.kernel.numa_balancing")
        XCTAssertEqual(balancing.outcome, .fail)
        XCTAssertEqual(balancing.severity, .critical)
        XCTAssertEqual(balancing.actual, "on: normal (1)")
        XCTAssertTrue(balancing.remediation.contains("kernel.numa_balancing=0"), balancing.remediation)
        XCTAssertEqual(report.status, .violations)
    }

    func testAbsentSysctlCountsAsOff() throws {
        let report = try audit("version: 1\nhost: {kernel: {numa_balancing: off}}\n", keeping: [], fixture: "linux-rt-2node")
        XCTAssertEqual(try finding(report, "host.kernel.numa_balancing").outcome, .pass)
    }

    func testInheritedInterleaveIsFlaggedByName() throws {
        let report = try audit("""
            version: 1
            workloads:
              - {name: engine, match: {comm: probe}, memory: {policy: bind, nodes: [1]}}
            """, keeping: [139])
        let interleave = try finding(report, "workload.engine.memory.interleave")
        XCTAssertEqual(interleave.outcome, .fail)
        XCTAssertEqual(interleave.subject, "PID 139 (probe)")
        XCTAssertTrue(interleave.actual.contains("interleave:0-1"), interleave.actual)
        XCTAssertTrue(try finding(report, "workload.engine.memory.policy").actual.contains("interleave:0-1"))
    }

    func testProtectedWorkloadOnTheWrongNodeMustBeRestarted() throws {
        let report = try audit("""
            version: 1
            workloads:
              - {name: engine, match: {comm: probe}, protected: true, memory: {policy: bind, nodes: [0], max_remote: 1%}}
            """, keeping: [122])
        let policy = try finding(report, "workload.engine.memory.policy")
        XCTAssertEqual(policy.outcome, .fail)
        XCTAssertEqual(policy.expected, "bind:0 on every mapping")
        XCTAssertTrue(policy.actual.hasPrefix("bind:1 on "), policy.actual)
        XCTAssertTrue(policy.remediation.hasPrefix("restart through numaguard run --policy test.yaml --workload engine"), policy.remediation)
        let remote = try finding(report, "workload.engine.memory.remote")
        XCTAssertEqual(remote.outcome, .fail)
        XCTAssertTrue(remote.actual.hasPrefix("100.0% of "), remote.actual)
        XCTAssertTrue(remote.remediation.contains("restart"), "a protected process is never migrated: \(remote.remediation)")
        XCTAssertFalse(remote.remediation.contains("migrates"))
    }

    func testForeignProcessOnAReservedNodeIsNamed() throws {
        let report = try audit("""
            version: 1
            workloads:
              - {name: svc, match: {cmdline: "^probe 16$"}}
              - {name: batch, match: {cmdline: "^probe 64$"}}
            reserve:
              - {node: 1, for: [svc], max_foreign_memory: 16MiB}
            """, keeping: [122, 168])
        let reserve = try finding(report, "node.1.reserve")
        XCTAssertEqual(reserve.outcome, .fail)
        XCTAssertTrue(reserve.actual.contains("PID 122 (probe) 64"), reserve.actual)
        XCTAssertTrue(reserve.actual.hasPrefix("64"), "the total is named first: \(reserve.actual)")
        XCTAssertFalse(reserve.actual.contains("PID 168"), "the reserving workload is not foreign: \(reserve.actual)")
    }

    /// Issue 12: an unprivileged process chooses its own command line, so a backtracking matcher
    /// let it stall the audit for minutes with `^(a+)+$`; the linear-time engine answers at once.
    func testHostileCommandLinesCannotStallTheMatcher() throws {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [122, 168])
        copies.append(root)
        let hostile = String(repeating: "a", count: 26) + "!"
        try Data(hostile.utf8).write(to: root.appendingPathComponent("proc/168/cmdline"))
        let words = (0..<700).map { "w\($0)" }.joined(separator: "\0")
        try Data(words.utf8).write(to: root.appendingPathComponent("proc/122/cmdline"))
        let policy = try PolicyLoader.parse(#"""
            version: 1
            workloads:
              - {name: nested, match: {cmdline: '^(a+)+$'}, running: {min: 1}}
              - {name: words, match: {cmdline: '^(\S+\s?)+engine$'}, running: {min: 1}}
              - {name: plain, match: {cmdline: 'a{26}!$'}, running: {min: 1}}
            """#, file: "test.yaml")
        let report = try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "0"),
                                     today: Day(year: 2026, month: 11, day: 21))
        XCTAssertEqual(try finding(report, "workload.nested.running").outcome, .fail)
        XCTAssertEqual(try finding(report, "workload.words.running").outcome, .fail)
        XCTAssertEqual(try finding(report, "workload.plain.running").outcome, .pass)
    }

    /// A workload's `exe` and `comm` are compared byte for byte: String's == holds canonically
    /// equivalent spellings equal, so a binary at `/opt/\u{212A}x/srv` (KELVIN SIGN) was the
    /// workload's `/opt/Kx/srv`, and root placed or protected it as the workload.
    func testExeIsMatchedByteForByte() throws {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [122, 168])
        copies.append(root)
        for (pid, target) in [(122, "/opt/Kx/srv"), (168, "/opt/\u{212A}x/srv")] {
            let link = root.appendingPathComponent("proc/\(pid)/exe").path
            try? FileManager.default.removeItem(atPath: link)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        }
        XCTAssertEqual("/opt/Kx/srv", "/opt/\u{212A}x/srv", "equal as Strings")
        let policy = try PolicyLoader.parse("""
            version: 1
            workloads:
              - {name: svc, match: {exe: /opt/Kx/srv}, running: {min: 1, max: 1}}
            """, file: "test.yaml")
        let report = try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "0"),
                                     today: Day(year: 2026, month: 11, day: 21))
        let running = try finding(report, "workload.svc.running")
        XCTAssertEqual(running.outcome, .pass, running.actual)
    }

    /// `match.user` names a user of /etc/passwd by its bytes: `Kate` and `\u{212A}ate` (KELVIN
    /// SIGN) are two users, though equal as Strings.
    func testUsersAreNamedByteForByte() throws {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [122, 168])
        copies.append(root)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        let passwd = "Kate:x:0:0::/root:/bin/sh\n\u{212A}ate:x:4242:4242::/home/k:/bin/sh\n"
        try Data(passwd.utf8).write(to: root.appendingPathComponent("etc/passwd"))
        let policy = try PolicyLoader.parse("""
            version: 1
            workloads:
              - {name: svc, match: {user: Kate}, running: {min: 1}}
            """, file: "test.yaml")
        let report = try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "0"),
                                     today: Day(year: 2026, month: 11, day: 21))
        let running = try finding(report, "workload.svc.running")
        XCTAssertEqual(running.outcome, .pass, "the fixture's processes run as uid 0: \(running.actual)")
    }

    func testWaiverSilencesUntilItExpires() throws {
        let yaml = """
            version: 1
            host: {kernel: {numa_balancing: off}}
            waivers:
              - {check: host.kernel.numa_balancing, reason: "OPS-1", expires: 2026-12-31}
            """
        let current = try audit(yaml, keeping: [], today: Day(year: 2026, month: 12, day: 31))
        XCTAssertEqual(try finding(current, "host.kernel.numa_balancing").outcome, .waived)
        XCTAssertEqual(current.status, .success)
        XCTAssertEqual(current.summary.waived, 1)
        let expired = try audit(yaml, keeping: [], today: Day(year: 2027, month: 1, day: 1))
        let finding = try finding(expired, "host.kernel.numa_balancing")
        XCTAssertEqual(finding.outcome, .fail)
        XCTAssertEqual(finding.waiver?.expired, true)
        XCTAssertEqual(expired.status, .violations)
    }

    func testFailOnCriticalIgnoresWarnings() throws {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [])
        copies.append(root)
        let policy = try PolicyLoader.parse("version: 1\nhost: {kernel: {zone_reclaim_mode: 1}}\n", file: "t.yaml")
        let loaded = LoadedPolicy(policy: policy, file: "t.yaml", digest: "0")
        let today = Day(year: 2026, month: 11, day: 21)
        XCTAssertEqual(try Auditor.run(root: HostRoot(path: root.path), policy: loaded, today: today).status, .violations)
        XCTAssertEqual(try Auditor.run(root: HostRoot(path: root.path), policy: loaded, today: today, failOn: .critical).status, .success)
    }

    func testRunningCountAndProcessGoneMidAudit() throws {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [122])
        copies.append(root)
        // numa_maps vanishes as if the process exited between being matched and being read.
        try FileManager.default.removeItem(at: root.appendingPathComponent("proc/122/numa_maps"))
        let policy = try PolicyLoader.parse("""
            version: 1
            workloads:
              - {name: engine, match: {comm: probe}, running: {min: 1}, memory: {policy: bind, nodes: [1]}}
            """, file: "t.yaml")
        let report = try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "t.yaml", digest: "0"),
                                     today: Day(year: 2026, month: 11, day: 21))
        XCTAssertEqual(report.gone.count, 1, "\(report.gone)")
        XCTAssertTrue(report.gone[0].contains("PID 122"), report.gone[0])
        XCTAssertTrue(report.unreadable.isEmpty)
        XCTAssertEqual(try finding(report, "workload.engine.running").outcome, .fail, "a gone process does not count as running")
    }

    /// On the live host, the auditing process is left out of the reservation scan: its own
    /// memory is not foreign to anything. A child it started is scanned, so the scan ran.
    func testTheAuditingProcessIsNotForeignMemory() throws {
        let child = try Child("/bin/sleep", ["305"])
        let policy = try PolicyLoader.parse("""
            version: 1
            reserve:
              - {node: 0, for: [latency], max_foreign_memory: 1GiB}
            workloads:
              - {name: latency, match: {comm: "^no-such-comm$"}}
            """, file: "test.yaml")
        let audit = try Auditor.audit(root: .live, policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "0"),
                                      today: Day(year: 2026, month: 12, day: 2))
        let report = audit.report
        XCTAssertNotNil(audit.state.snapshots[Int(child.pid)], "the reservation scan read the other processes")
        XCTAssertNil(audit.state.snapshots[Int(getpid())], "the auditing process itself is not audited")
        XCTAssertFalse(try finding(report, "node.0.reserve").actual.contains("PID \(getpid()) "))
    }
}
