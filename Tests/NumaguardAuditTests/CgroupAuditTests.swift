import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// The audit's cgroup cpuset checks over the recorded 2-node guest's PID 122 (`numactl
/// --membind=1 probe 64`) put in a cgroup whose cpuset allows CPUs 0-1 and node 0: the same
/// findings in every cgroup layout, each naming the file its kernel has.
final class CgroupAuditTests: XCTestCase {
    private var roots: [URL] = []

    override func tearDown() {
        for root in roots { try? FileManager.default.removeItem(at: root) }
        roots = []
    }

    private func audit(_ layout: CgroupLayout) throws -> AuditReport {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [122])
        roots.append(root)
        try layout.write(into: root, cgroup: "/engine", cpus: "0-1", mems: "0", pids: [122])
        let policy = try PolicyLoader.parse("""
            version: 1
            workloads:
              - name: engine
                match: {comm: probe}
                cpus: {nodes: [0, 1]}
                memory: {policy: bind, nodes: [1]}
            """, file: "test.yaml")
        return try Auditor.run(root: HostRoot(path: root.path), policy: LoadedPolicy(policy: policy, file: "test.yaml", digest: "0"),
                               today: Day(year: 2026, month: 11, day: 21))
    }

    func testAV1CpusetGivesTheFindingsAV2CpusetGives() throws {
        let v2 = try audit(.v2)
        let cpus = try XCTUnwrap(v2.findings.first { $0.check == "workload.engine.cgroup.cpuset.cpus" })
        XCTAssertEqual(cpus.outcome, .fail)
        XCTAssertEqual(cpus.expected, "cgroup cpuset.cpus.effective includes 0-3")
        XCTAssertEqual(cpus.actual, "0-1")
        XCTAssertEqual(cpus.remediation, "widen the cgroup's cpuset (/engine) to include CPUs 0-3")
        let mems = try XCTUnwrap(v2.findings.first { $0.check == "workload.engine.cgroup.cpuset.mems" })
        XCTAssertEqual(mems.outcome, .fail)
        XCTAssertEqual(mems.expected, "cgroup cpuset.mems.effective includes 1")

        func outcomes(_ report: AuditReport) -> [String] {
            report.findings.map { "\($0.check) \($0.outcome) \($0.severity) \($0.pid.map(String.init) ?? "-") \($0.actual)" }
        }
        for layout in [CgroupLayout.v1, .hybrid, .v1NoPrefix] {
            let report = try audit(layout)
            XCTAssertEqual(outcomes(report), outcomes(v2), "\(layout)")
            let v1 = try XCTUnwrap(report.findings.first { $0.check == "workload.engine.cgroup.cpuset.cpus" })
            XCTAssertEqual(v1.expected, "cgroup \(layout.effectiveCPUsFile) includes 0-3", "\(layout)")
            XCTAssertEqual(v1.remediation, "widen the cgroup's cpuset (/engine) to include CPUs 0-3",
                           "\(layout): the cpuset's cgroup, not the first line of /proc/PID/cgroup (name=systemd)")
            XCTAssertEqual(report.findings.first { $0.check == "workload.engine.cgroup.cpuset.mems" }?.expected,
                           "cgroup \(layout.effectiveMemsFile) includes 1", "\(layout)")
        }
    }
}
