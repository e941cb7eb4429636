import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardLaunch
import NumaguardPolicy
import TestSupport
import XCTest

/// `audit --launch-records`: over the recorded 2-node guest, where PID 122 (start time 305)
/// and PID 168 both run `probe`. The fixture has no boot id, so records match on pid and
/// start time alone.
final class LaunchChecksTests: XCTestCase {
    private var cleanup: [URL] = []

    override func tearDown() {
        for url in cleanup { try? FileManager.default.removeItem(at: url) }
        cleanup = []
    }

    private let yaml = """
        version: 1
        workloads:
          - name: engine
            match: {comm: probe}
            memory: {policy: bind, nodes: [1]}
        """

    private func record(pid: Int, startTime: UInt64, workload: String?, digest: String?) -> LaunchRecord {
        LaunchRecord(tool: "numaguard test", pid: pid, startTime: startTime, bootID: "boot", launchedAt: "2026-11-21T08:00:00Z",
                     program: "/bin/probe", arguments: ["probe", "64"], user: nil, cpus: IDSet([2, 3]), memoryPolicy: "bind:1",
                     source: workload.map { "workload \"\($0)\" of test.yaml" } ?? "--membind 1", policyPath: workload == nil ? nil : "test.yaml",
                     policyDigest: digest, workload: workload)
    }

    private func audit(records: [LaunchRecord], extraFiles: [String: String] = [:], keeping pids: [Int] = [122, 168]) throws -> AuditReport {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: pids)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-records-\(UUID().uuidString)")
        cleanup += [root, directory]
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for record in records {
            try record.json.write(to: directory.appendingPathComponent(record.fileName), atomically: true, encoding: .utf8)
        }
        for (name, text) in extraFiles {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let policy = try PolicyLoader.parse(yaml, file: "test.yaml")
        return try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "d1"),
                               today: Day(year: 2026, month: 11, day: 21),
                               launchRecords: try LaunchRecords.read(directory: directory.path))
    }

    private func launcher(_ report: AuditReport, pid: Int) throws -> Finding {
        try XCTUnwrap(report.findings.first { $0.check == "workload.engine.launcher" && $0.pid == pid })
    }

    func testARecordedLaunchForTheWorkloadPassesAndOthersAreNamed() throws {
        let report = try audit(records: [record(pid: 122, startTime: 305, workload: "engine", digest: "d1")])
        let recorded = try launcher(report, pid: 122)
        XCTAssertEqual(recorded.outcome, .pass)
        XCTAssertEqual(recorded.actual, "launched by numaguard run: cpus 2-3, memory bind:1, at 2026-11-21T08:00:00Z")
        let unrecorded = try launcher(report, pid: 168)
        XCTAssertEqual(unrecorded.outcome, .fail)
        XCTAssertEqual(unrecorded.severity, .warning)
        XCTAssertTrue(unrecorded.actual.hasPrefix("no launch record in "), unrecorded.actual)
        XCTAssertTrue(unrecorded.remediation.contains("numaguard run --record"), unrecorded.remediation)
    }

    func testARecordOfAnotherProcessWithTheSamePidDoesNotCount() throws {
        // PID reuse: same pid, other start time.
        let report = try audit(records: [record(pid: 122, startTime: 999, workload: "engine", digest: "d1")])
        XCTAssertEqual(try launcher(report, pid: 122).outcome, .fail)
    }

    func testALaunchFromOptionsOrAnotherPolicyFailsAndSaysWhatLaunchedIt() throws {
        let report = try audit(records: [record(pid: 122, startTime: 305, workload: nil, digest: nil),
                                         record(pid: 168, startTime: try startTime(168), workload: "engine", digest: "old")])
        let fromFlags = try launcher(report, pid: 122)
        XCTAssertEqual(fromFlags.outcome, .fail)
        XCTAssertEqual(fromFlags.actual, "launched by numaguard run from --membind 1 (policy digest none): cpus 2-3, memory bind:1, at 2026-11-21T08:00:00Z")
        let oldPolicy = try launcher(report, pid: 168)
        XCTAssertEqual(oldPolicy.outcome, .fail)
        XCTAssertTrue(oldPolicy.actual.contains("(policy digest old)"), oldPolicy.actual)
    }

    func testAnUnreadableRecordMakesTheAuditIncomplete() throws {
        // PID 122 alone (bound to node 1) and recorded, so the unreadable file is the only problem.
        let report = try audit(records: [record(pid: 122, startTime: 305, workload: "engine", digest: "d1")],
                               extraFiles: ["1-2.json": "{not json"], keeping: [122])
        XCTAssertEqual(report.status, .incomplete)
        XCTAssertTrue(report.unreadable.contains { $0.contains("1-2.json") }, report.unreadable.description)
    }

    /// A record of a layout this numaguard does not read is not believed: the audit says so
    /// and is incomplete, rather than reading its fields as version 1's.
    func testARecordOfAnotherFormatVersionIsNotBelieved() throws {
        var current = record(pid: 122, startTime: 305, workload: "engine", digest: "d1")
        current.formatVersion = 2
        let report = try audit(records: [current], keeping: [122])
        XCTAssertEqual(report.summary.incomplete, 1, "launch_records.read")
        XCTAssertTrue(report.unreadable.contains { $0.hasSuffix("\(current.fileName): format_version 2 is not one this numaguard reads (it reads 1)") },
                      report.unreadable.description)
        XCTAssertEqual(try launcher(report, pid: 122).outcome, .fail, "not counted as a launch by numaguard")
    }

    /// A shared record directory: another user's junk is ignored and said, never incomplete, and
    /// a record another user forged for a process that is not theirs is not believed.
    func testAnotherUsersFilesAreIgnoredNotIncompleteNorBelieved() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to give files to another user") }
        let forged = record(pid: 122, startTime: 305, workload: "engine", digest: "d1")
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [122])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-records-\(UUID().uuidString)")
        cleanup += [root, directory]
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let junk = directory.appendingPathComponent("zz.json")
        try "junk".write(to: junk, atomically: true, encoding: .utf8)
        let forgery = directory.appendingPathComponent(forged.fileName)
        try forged.json.write(to: forgery, atomically: true, encoding: .utf8)
        for file in [junk, forgery] { XCTAssertEqual(chown(file.path, 65534, 65534), 0) }
        let policy = try PolicyLoader.parse(yaml, file: "test.yaml")
        let report = try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "d1"),
                                     today: Day(year: 2026, month: 11, day: 21),
                                     launchRecords: try LaunchRecords.read(directory: directory.path))
        XCTAssertNotEqual(report.status, .incomplete, report.unreadable.description)
        XCTAssertTrue(report.notes.contains { $0.contains("zz.json") && $0.contains("owned by uid 65534") }, report.notes.description)
        let untrusted = try launcher(report, pid: 122)
        XCTAssertEqual(untrusted.outcome, .fail, "uid 65534 may not say how root's PID 122 was launched")
        XCTAssertTrue(untrusted.actual.hasPrefix("no launch record"), untrusted.actual)
        // The same record written by root is believed.
        XCTAssertEqual(chown(forgery.path, 0, 0), 0)
        let trusted = try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "d1"),
                                      today: Day(year: 2026, month: 11, day: 21),
                                      launchRecords: try LaunchRecords.read(directory: directory.path))
        XCTAssertEqual(try launcher(trusted, pid: 122).outcome, .pass)
    }

    func testNoLauncherFindingsWithoutRecords() throws {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [122])
        cleanup.append(root)
        let policy = try PolicyLoader.parse(yaml, file: "test.yaml")
        let report = try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "d1"),
                                     today: Day(year: 2026, month: 11, day: 21))
        XCTAssertFalse(report.findings.contains { $0.check.hasSuffix(".launcher") })
    }

    private func startTime(_ pid: Int) throws -> UInt64 {
        let stat = try String(contentsOfFile: Fixtures.path("linux-6.1-2node") + "/proc/\(pid)/stat", encoding: .utf8)
        return try TaskStatParser.parse(stat).startTime
    }
}
