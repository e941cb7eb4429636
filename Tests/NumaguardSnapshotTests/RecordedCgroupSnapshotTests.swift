import Foundation
import NumaguardHost
import NumaguardSnapshot
import TestSupport
import XCTest

/// The snapshot's cpusets of cgroup trees a real 6.1 kernel laid out (TestSupport's
/// RecordedCgroupTree): v2's /engine and /shared, and the same in a v1 cpuset hierarchy,
/// with the files as the kernel named and wrote them (v1 prints flags v2 has not; v2's
/// /shared configured no sets of its own and prints them empty).
final class RecordedCgroupSnapshotTests: XCTestCase {
    private func cpusets(_ tree: RecordedCgroupTree) throws -> [SnapshotCpuset] {
        let snapshot = try SnapshotReader.read(HostRoot(path: tree.path), toolVersion: "test", takenAt: "2026-12-02T00:00:00Z")
        XCTAssertEqual(snapshot.unreadable, [], "\(tree)")
        return snapshot.cpusets
    }

    func testTheRecordedV2CpusetsAreListed() throws {
        XCTAssertEqual(try cpusets(.v2), [
            SnapshotCpuset(cgroup: "/engine", version: 2, settings: ["cpus": "2-3", "mems": "1", "cpus.partition": "member"]),
            SnapshotCpuset(cgroup: "/shared", version: 2, settings: ["cpus": "", "mems": "", "cpus.partition": "member"]),
        ])
    }

    func testTheRecordedV1CpusetsAreListed() throws {
        let flags = ["cpu_exclusive": "0", "mem_exclusive": "0", "sched_load_balance": "1", "memory_migrate": "0", "mem_hardwall": "0"]
        XCTAssertEqual(try cpusets(.v1), [
            SnapshotCpuset(cgroup: "/", version: 1, settings: flags.merging(["cpu_exclusive": "1", "mem_exclusive": "1"]) { $1 }),
            SnapshotCpuset(cgroup: "/engine", version: 1, settings: flags.merging(["cpus": "2-3", "mems": "1"]) { $1 }),
            SnapshotCpuset(cgroup: "/shared", version: 1, settings: flags.merging(["cpus": "0-3", "mems": "0-1"]) { $1 }),
        ])
    }
}
