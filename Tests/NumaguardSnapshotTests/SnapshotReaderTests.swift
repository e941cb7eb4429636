import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardSnapshot
import TestSupport
import XCTest

/// The snapshot reader over hosts recorded from real kernels, and over a recorded host with
/// what the QEMU guests lack (devices, cpusets, daemons, debugfs) added in the kernel's layout.
final class SnapshotReaderTests: XCTestCase {
    static func snapshot(_ path: String) throws -> Snapshot {
        try SnapshotReader.read(HostRoot(path: path), toolVersion: "test", takenAt: "2026-11-21T00:00:00Z")
    }

    func testRecordedTwoNodeGuest() throws {
        let snapshot = try Self.snapshot(Fixtures.path("linux-6.1-2node"))
        XCTAssertEqual(snapshot.kernel.release, "6.1.0-56-amd64")
        XCTAssertEqual(snapshot.kernel.cmdline, "console=ttyS0 panic=-1 quiet")
        XCTAssertEqual(snapshot.kernel.sysctls, ["kernel.numa_balancing": "1", "vm.zone_reclaim_mode": "0"])
        XCTAssertEqual(snapshot.kernel.transparentHugepage, ["enabled": "always", "defrag": "madvise"])
        XCTAssertEqual(snapshot.kernel.weightedInterleave, [:], "6.1 has no weighted interleave")
        XCTAssertEqual(snapshot.topology.onlineNodes, IDSet([0, 1]))
        XCTAssertEqual(snapshot.topology.nodes.map(\.cpus), [IDSet([0, 1]), IDSet([2, 3])])
        XCTAssertEqual(snapshot.topology.nodes.map(\.memoryBytes), [469_116 * 1024, 515_244 * 1024], "node*/meminfo MemTotal")
        XCTAssertEqual(snapshot.topology.nodes.map(\.distances), [[10, 21], [21, 10]])
        XCTAssertEqual(snapshot.topology.nodes[0].hugePages.first, .init(sizeKiB: 2048, count: 8),
                       "the pool size, not its free pages (4 were in use)")
        XCTAssertEqual(snapshot.devices, [])
        XCTAssertEqual(snapshot.cpusets, [])
        XCTAssertEqual(snapshot.actors, SnapshotActors(running: [], tunedProfile: nil))
        XCTAssertEqual(snapshot.unreadable, [])
    }

    func testWeightedInterleaveOn612() throws {
        let snapshot = try Self.snapshot(Fixtures.path("linux-6.12-2node"))
        XCTAssertEqual(snapshot.kernel.weightedInterleave, ["0": 1, "1": 1])
    }

    func testDevicesCpusetsActorsAndDebugfs() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        let snapshot = try Self.snapshot(host.path)
        XCTAssertEqual(snapshot.devices, [
            SnapshotDevice(kind: "net", name: "ens1f0", address: "0000:3b:00.0", numaNode: 1, irqs: [
                .init(irq: 120, mode: "msix", affinity: IDSet([2])), .init(irq: 121, mode: "msix", affinity: IDSet([3])),
                .init(irq: 122, mode: "msix", affinity: IDSet([2, 3])),
            ]),
            SnapshotDevice(kind: "net", name: "eth0", address: "0000:00:03.0", numaNode: nil,
                           irqs: [.init(irq: 40, mode: "msix", affinity: IDSet([0, 1, 2, 3]))]),
            SnapshotDevice(kind: "nvme", name: "nvme0", address: "0000:5e:00.0", numaNode: 0,
                           irqs: [.init(irq: 16, mode: "intx", affinity: IDSet([0]))]),
        ], "lo has no device; virtio's locality is its PCI parent's")
        XCTAssertEqual(snapshot.cpusets, [
            SnapshotCpuset(cgroup: "/trading", version: 2, settings: ["cpus": "2-3", "mems": "1", "cpus.partition": "isolated"]),
        ], "the v2 root has no settings of its own; system.slice has no cpuset")
        XCTAssertEqual(snapshot.actors, SnapshotActors(running: ["numad", "tuned"], tunedProfile: "latency-performance"))
        XCTAssertEqual(snapshot.kernel.numaBalancingDebug, ["scan_delay_ms": "1000", "scan_period_min_ms": "1000", "scan_size_mb": "256"])
        XCTAssertEqual(snapshot.unreadable, [])
    }

    func testUnreadableIsRecordedNotFatal() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        // A directory where the kernel has a file: refused (a captured root reads regular files only), not absent.
        try FileManager.default.removeItem(at: host.root.appendingPathComponent("proc/sys/vm/zone_reclaim_mode"))
        try host.write("proc/sys/vm/min_unmapped_ratio/x", "")
        let snapshot = try Self.snapshot(host.path)
        XCTAssertEqual(snapshot.unreadable.map(\.id), ["vm.min_unmapped_ratio"])
        XCTAssertTrue(snapshot.unreadable[0].path.hasSuffix("proc/sys/vm/min_unmapped_ratio"), snapshot.unreadable[0].path)
        XCTAssertEqual(snapshot.unreadable[0].error, "it is a directory, not a regular file")
        XCTAssertNil(snapshot.kernel.sysctls["vm.zone_reclaim_mode"], "absent is a fact, not a failure")
    }

    func testMissingTopologyIsFatal() throws {
        let copy = try Fixtures.copy("linux-6.1-2node")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("sys/devices/system/node/node1/distance"))
        XCTAssertThrowsError(try Self.snapshot(copy.path)) { error in
            XCTAssertTrue("\(error)".contains("node1/distance"), "\(error)")
        }
    }

    func testFactsHoldNothingThatMovesOnItsOwn() throws {
        let facts = try Self.snapshot(Fixtures.path("linux-6.1-2node")).facts
        let ids = facts.map(\.id)
        XCTAssertEqual(Set(ids).count, ids.count, "fact ids are unique")
        XCTAssertTrue(ids.contains("kernel.numa_balancing"))
        XCTAssertEqual(facts.first { $0.id == "kernel.numa_balancing" }?.value, "on: normal (1)")
        XCTAssertEqual(facts.first { $0.id == "hugepages.node.0.2048kB" }?.value, "8")
        XCTAssertFalse(ids.contains("hugepages.node.1.2048kB"), "an empty pool is no pool")
        XCTAssertFalse(ids.contains { $0.contains("free") || $0.contains("pid") }, "\(ids)")
        XCTAssertEqual(facts.filter { $0.group == .boot }.map(\.id), ["boot.console", "boot.panic", "boot.quiet"])
        XCTAssertTrue(facts.filter { $0.group == .boot }.allSatisfy { !$0.relevant })
    }
}
