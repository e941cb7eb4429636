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

    /// A capture of a v1 host holds what the snapshot and the audit read there: the cpuset
    /// hierarchy (found through init's mountinfo) and each process's cpuset files.
    func testACaptureOfAV1HostReadsTheSame() throws {
        for layout in [CgroupLayout.v1NoPrefix, .hybrid] {
            let root = try Fixtures.copy("linux-6.1-2node", keeping: [122])
            roots.append(root)
            try layout.write(into: root, cgroup: "/trading", cpus: "2-3", mems: "1", pids: [122])
            let result = try Capture.run(root: HostRoot(path: root.path), toolVersion: "test", takenAt: "2026-11-21T00:00:00Z",
                                         epoch: 1_790_000_000, excludingPID: nil)
            let unpacked = FileManager.default.temporaryDirectory.appendingPathComponent("numaguard-capture-\(UUID().uuidString)")
            roots.append(unpacked)
            try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
            let file = unpacked.appendingPathComponent("capture.tar")
            try Data(result.archive).write(to: file)
            XCTAssertEqual(try Command.run("/usr/bin/tar", ["-xf", file.path, "-C", unpacked.path]).status, 0)
            func read(_ path: String) throws -> Snapshot {
                try SnapshotReader.read(HostRoot(path: path), toolVersion: "test", takenAt: "2026-11-21T00:00:00Z")
            }
            XCTAssertEqual(try read(unpacked.path).cpusets, try read(root.path).cpusets, "\(layout)")
            XCTAssertEqual(try read(unpacked.path).cpusets.count, 2, "\(layout)")
            let cgroups = try CgroupEntry.parse(layout.procCgroup("/trading"))
            let captured = CgroupCpuset.read(HostRoot(path: unpacked.path), cgroups: cgroups)
            XCTAssertEqual(captured?.cpus, IDSet([2, 3]), "\(layout)")
            XCTAssertEqual(captured, CgroupCpuset.read(HostRoot(path: root.path), cgroups: cgroups), "\(layout)")
        }
    }
}
