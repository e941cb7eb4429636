import Foundation
import NumaguardCore
import NumaguardHost
@testable import NumaguardLaunch
import TestSupport
import XCTest

/// run's preflight in a cgroup cpuset of each layout: the recorded RT guest (nodes 0: CPUs
/// 0-1, 1: CPUs 2-3) as a process confined to CPUs 0-1 and node 0 by its cgroup, read
/// through the launcher's own reader. The refusal names the file the kernel has.
final class LaunchCgroupTests: XCTestCase {
    private var roots: [URL] = []

    override func tearDown() {
        for root in roots { try? FileManager.default.removeItem(at: root) }
        roots = []
    }

    private func confinedHost(_ layout: CgroupLayout) throws -> LaunchHost {
        let root = try Fixtures.copy("linux-rt-2node")
        roots.append(root)
        try layout.write(into: root, cgroup: "/pinned", cpus: "0-1", mems: "0", pids: [])
        try FileManager.default.createDirectory(at: root.appendingPathComponent("proc/self"), withIntermediateDirectories: true)
        try layout.procCgroup("/pinned").write(to: root.appendingPathComponent("proc/self/cgroup"), atomically: false, encoding: .utf8)
        try "Name:\tnumaguard\nCpus_allowed_list:\t0-1\nMems_allowed_list:\t0\n"
            .write(to: root.appendingPathComponent("proc/self/status"), atomically: false, encoding: .utf8)
        return try LaunchHostReader.read(HostRoot(path: root.path), memory: false)
    }

    func testRefusalsNameTheFileOfTheCgroupVersion() throws {
        let fix = "run numaguard in a cgroup whose cpuset includes them"
        for layout in CgroupLayout.allCases {
            let host = try confinedHost(layout)
            XCTAssertEqual(host.cpuset?.version, layout == .v2 ? .v2 : .v1, "\(layout)")
            XCTAssertEqual(host.cpusAllowed, IDSet([0, 1]), "\(layout)")
            XCTAssertEqual(
                assertLaunchError(.refused) { try LaunchFixtures.plan(["-C", "2"], on: host) },
                "-C 2: CPU 2 is not allowed: this process's cgroup /pinned allows CPUs 0-1 (\(layout.effectiveCPUsFile)); \(fix)", "\(layout)")
            XCTAssertEqual(
                assertLaunchError(.refused) { try LaunchFixtures.plan(["-m", "1"], on: host) },
                "-m 1: node 1 is not allowed: this process's cgroup /pinned allows nodes 0 (\(layout.effectiveMemsFile)); \(fix)", "\(layout)")
            XCTAssertEqual(try LaunchFixtures.plan(["-N", "all"], on: host).cpus, IDSet([0, 1]), "\(layout): `all` is the cpuset's share")
        }
        XCTAssertEqual(CgroupLayout.v1.effectiveCPUsFile, "cpuset.effective_cpus")
        XCTAssertEqual(CgroupLayout.v2.effectiveCPUsFile, "cpuset.cpus.effective", "v2's message is unchanged")
    }
}
