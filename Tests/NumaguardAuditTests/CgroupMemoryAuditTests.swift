import Foundation
@testable import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// The audit's per-node memory of protected workloads (and of those that opted out of
/// numa_maps reads) from their dedicated cgroups' memory.numa_stat, over the recorded 2-node
/// guest: PID 152 (`probe 32 /bin/busybox`, bound to node 1) as the protected engine, PID 161
/// (`probe 16`) as a batch job, put in cgroups the way each layout's kernel lays them out.
/// The HostRoot observer counts the reads that take a process's mmap lock.
final class CgroupMemoryAuditTests: XCTestCase {
    private var roots: [URL] = []

    override func tearDown() {
        for root in roots { try? FileManager.default.removeItem(at: root) }
        roots = []
    }

    private func tree(_ layout: CgroupLayout, enginePIDs: [Int] = [152], anonPages: (Int, Int) = (3, 300)) throws -> URL {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [152, 161])
        roots.append(root)
        try layout.write(into: root, cgroup: "/engine", cpus: "2-3", mems: "1", pids: enginePIDs, anonPages: anonPages)
        return root
    }

    private func audit(_ root: URL, _ policy: String, log: HostReadLog) throws -> AuditReport {
        let loaded = try PolicyLoader.parse(policy, file: "p.yaml")
        return try Auditor.run(root: HostRoot(path: root.path).observed(by: log), policy: LoadedPolicy(policy: loaded, file: "p.yaml", digest: "0"),
                               today: Day(year: 2026, month: 12, day: 2))
    }

    private static func policy(scan: Bool? = nil, maxRemote: String = "1%", extra: String = "") -> String {
        """
        version: 1
        workloads:
          - name: engine
            match: {comm: probe, cmdline: "^probe 32 "}
            protected: true
            memory: {policy: bind, nodes: [1], max_remote: \(maxRemote)\(scan.map { ", scan: \($0)" } ?? "")}
          - name: batch
            match: {cmdline: "^probe 16$"}
        \(extra)
        """
    }

    private func locking(_ log: HostReadLog, _ pid: Int) -> [String] {
        log.paths.filter { ["numa_maps", "smaps", "smaps_rollup", "cmdline", "environ"].map { "proc/\(pid)/\($0)" }.contains($0) }
    }

    /// memory.remote of the engine is judged once, for its cgroup, from memory.numa_stat; its
    /// numa_maps is read once, for the per-mapping policy checks only, and its cmdline once (matching).
    func testMaxRemoteComesFromTheDedicatedCgroupOnEveryLayout() throws {
        for layout in [CgroupLayout.v2, .v1, .hybrid] {
            let log = HostReadLog()
            let report = try audit(try tree(layout), Self.policy(), log: log)
            let remote = report.findings.filter { $0.check == "workload.engine.memory.remote" }
            XCTAssertEqual(remote.count, 1, "\(layout): one finding, for the cgroup: \(remote)")
            let page = CgroupHierarchy.pageKiB * 1024
            XCTAssertEqual(remote.first?.subject, "cgroup /engine (PID 152)", "\(layout)")
            XCTAssertNil(remote.first?.pid, "\(layout): the cgroup's figure is no one process's")
            XCTAssertEqual(remote.first?.outcome, .pass, "\(layout): 3 of 303 pages is 1.0%")
            XCTAssertEqual(remote.first?.actual, "1.0% of \(Bytes.text(303 * page)) (\(Bytes.text(3 * page)) on node 0), from the cgroup's memory.numa_stat", "\(layout)")
            XCTAssertEqual(report.findings.first { $0.check == "workload.engine.memory.policy" }?.outcome, .pass,
                           "\(layout): per-mapping policies still come from numa_maps")
            XCTAssertEqual(locking(log, 152), ["proc/152/cmdline", "proc/152/numa_maps"], "\(layout): each once")
            XCTAssertTrue(log.paths.contains { $0.hasSuffix("engine/memory.numa_stat") }, "\(layout)")
        }
    }

    func testAFailingCgroupFigureNamesTheNodesAndARestart() throws {
        let log = HostReadLog()
        let report = try audit(try tree(.v2, anonPages: (100, 100)), Self.policy(maxRemote: "10%"), log: log)
        let remote = try XCTUnwrap(report.findings.first { $0.check == "workload.engine.memory.remote" })
        XCTAssertEqual(remote.outcome, .fail)
        XCTAssertEqual(remote.expected, "at most 10.0% of anonymous memory off nodes 1")
        XCTAssertEqual(remote.actual, "50.0% of 800 KiB (400 KiB on node 0), from the cgroup's memory.numa_stat")
        XCTAssertEqual(remote.remediation, "restart through numaguard run --policy p.yaml --workload engine (protected: never changed live)")
    }

    /// With `memory.scan: false` nothing of the engine that takes its mmap lock is read but its
    /// command line (the match rule), and memory.remote is still judged, from its cgroup.
    func testOptedOutOfNumaMapsTheCgroupStillJudgesMaxRemote() throws {
        let log = HostReadLog()
        let report = try audit(try tree(.v1), Self.policy(scan: false), log: log)
        XCTAssertEqual(locking(log, 152), ["proc/152/cmdline"])
        XCTAssertEqual(report.findings.filter { $0.check == "workload.engine.memory.remote" }.map(\.subject), ["cgroup /engine (PID 152)"])
        XCTAssertFalse(report.findings.contains { $0.check == "workload.engine.memory.policy" }, "needs numa_maps: not judged")
        XCTAssertEqual(report.numaMapsReads, [], "no read to report")
    }

    /// A cgroup shared with the batch job speaks for neither: with scan the engine's numa_maps
    /// gives its figure (per process, as before); without, the audit says what was lost.
    func testASharedCgroupFallsBackToNumaMapsOrSaysWhatIsNotJudged() throws {
        let shared = try tree(.v2, enginePIDs: [152, 161])
        let scanned = try audit(shared, Self.policy(), log: HostReadLog())
        let remote = scanned.findings.filter { $0.check == "workload.engine.memory.remote" }
        XCTAssertEqual(remote.map(\.subject), ["PID 152 (probe)"], "from its numa_maps")
        XCTAssertEqual(scanned.notes, [])

        let log = HostReadLog()
        let optedOut = try audit(shared, Self.policy(scan: false), log: log)
        XCTAssertFalse(optedOut.findings.contains { $0.check == "workload.engine.memory.remote" })
        XCTAssertEqual(optedOut.notes, ["PID 152 (probe) of workload engine: cgroup /engine is shared with 1 other process, so its memory.numa_stat "
                                        + "is not this workload's alone; with memory.scan: false its memory.remote is not judged and its memory is "
                                        + "not counted in reservations"])
        XCTAssertEqual(locking(log, 152), ["proc/152/cmdline"])
    }

    /// A node reserved for the batch job: the engine's memory there is foreign, counted from its
    /// cgroup (named with its processes) without reading its numa_maps; the batch job's
    /// numa_maps is read as every other process's is.
    func testAReservationCountsADedicatedCgroupWithoutItsNumaMaps() throws {
        let reserve = """
            reserve:
              - {node: 0, for: [batch], max_foreign_memory: 4KiB}
            """
        let log = HostReadLog()
        let report = try audit(try tree(.hybrid, anonPages: (5, 300)), Self.policy(scan: false, extra: reserve), log: log)
        let node = try XCTUnwrap(report.findings.first { $0.check == "node.0.reserve" })
        XCTAssertEqual(node.outcome, .fail)
        let page = CgroupHierarchy.pageKiB * 1024
        XCTAssertEqual(node.actual, "\(Bytes.text(5 * page)) in 1 process: cgroup /engine (PID 152) \(Bytes.text(5 * page))")
        XCTAssertEqual(locking(log, 152), ["proc/152/cmdline"], "counted from the cgroup")
        XCTAssertTrue(log.paths.contains("proc/161/numa_maps"), "the batch job is read as before")
    }

    /// Headroom as a multiple of the protected workload's resident memory takes that memory
    /// from the cgroup when it speaks for the workload.
    func testHeadroomUsesTheCgroupsFigure() throws {
        let headroom = """
            host:
              headroom: [{node: 1, min_free: 2x protected}]
            """
        let report = try audit(try tree(.v2, anonPages: (0, 256)), Self.policy(scan: false, extra: headroom), log: HostReadLog())
        let finding = try XCTUnwrap(report.findings.first { $0.check == "node.1.headroom" })
        XCTAssertTrue(finding.expected.hasPrefix("at least 2.0× the protected workloads' 1 MiB resident here (2 MiB) free"), finding.expected)
    }
}
