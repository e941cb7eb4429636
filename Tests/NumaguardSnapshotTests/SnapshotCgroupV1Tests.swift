import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardSnapshot
import TestSupport
import XCTest

/// The snapshot's top-level cpusets on cgroup v1 (RHEL 8) and hybrid hosts: the recorded
/// 2-node guest with a v1 cpuset hierarchy laid out by TestSupport's CgroupLayout.
final class SnapshotCgroupV1Tests: XCTestCase {
    private var roots: [URL] = []

    override func tearDown() {
        for root in roots { try? FileManager.default.removeItem(at: root) }
        roots = []
    }

    private func snapshot(_ layout: CgroupLayout, edit: (URL) throws -> Void = { _ in }) throws -> Snapshot {
        let root = try Fixtures.copy("linux-6.1-2node", keeping: [])
        roots.append(root)
        try layout.write(into: root, cgroup: "/trading", cpus: "2-3", mems: "1", pids: [])
        try edit(root)
        return try SnapshotReader.read(HostRoot(path: root.path), toolVersion: "test", takenAt: "2026-11-21T00:00:00Z")
    }

    func testV1CpusetsAreListedWithOrWithoutPrefix() throws {
        let expected = [
            SnapshotCpuset(cgroup: "/", version: 1, settings: ["cpu_exclusive": "1", "sched_load_balance": "1"]),
            SnapshotCpuset(cgroup: "/trading", version: 1, settings: ["cpus": "2-3", "mems": "1", "cpu_exclusive": "1", "sched_load_balance": "0"]),
        ]
        for layout in [CgroupLayout.v1, .hybrid, .v1NoPrefix] {
            let snapshot = try snapshot(layout)
            XCTAssertEqual(snapshot.cpusets, expected, "\(layout)")
            XCTAssertEqual(snapshot.unreadable, [], "\(layout)")
        }
    }

    func testTheV1HierarchyIsFoundWhereMountinfoSaysItIs() throws {
        let snapshot = try snapshot(.v1) { root in
            try FileManager.default.moveItem(at: root.appendingPathComponent("sys/fs/cgroup/cpuset"), to: root.appendingPathComponent("dev-cpuset"))
            try CgroupLayout.v1.mountinfo.replacingOccurrences(of: "/sys/fs/cgroup/cpuset", with: "/dev-cpuset")
                .write(to: root.appendingPathComponent("proc/1/mountinfo"), atomically: false, encoding: .utf8)
        }
        XCTAssertEqual(snapshot.cpusets.map(\.cgroup), ["/", "/trading"])
        XCTAssertEqual(snapshot.cpusets.last?.settings["cpus"], "2-3")
    }

    func testV2IsUnchanged() throws {
        let snapshot = try snapshot(.v2)
        XCTAssertEqual(snapshot.cpusets, [
            SnapshotCpuset(cgroup: "/trading", version: 2, settings: ["cpus": "2-3", "mems": "1", "cpus.partition": "member"]),
        ])
    }
}
