import Foundation
import NumaguardCore
import NumaguardHost
import NumaguardOutput
import NumaguardReport
import NumaguardSnapshot
import TestSupport
import XCTest

/// The diff over snapshots of hosts recorded from real kernels: each pair must report what
/// differs between those kernels and topologies, and nothing else.
final class SnapshotDiffTests: XCTestCase {
    private func snapshot(_ fixture: String) throws -> Snapshot {
        try SnapshotReaderTests.snapshot(Fixtures.path(fixture))
    }

    private func diff(_ old: Snapshot, _ new: Snapshot) -> SnapshotDiff {
        SnapshotComparison.diff(old: old, oldFile: "old.json", new: new, newFile: "new.json")
    }

    func testTwoNodesToFourAsymmetricNodes() throws {
        let result = diff(try snapshot("linux-6.1-2node"), try snapshot("linux-6.1-4node-asym"))
        var expected = ["topology.nodes.possible", "topology.nodes.online", "topology.nodes.with_cpus", "topology.nodes.with_memory"]
        for node in 0...3 { expected += ["cpus", "memory", "distances"].map { "topology.node.\(node).\($0)" } }
        // The 2-node recording reserved eight 2 MiB pages on node 0; the 4-node one none.
        expected.append("hugepages.node.0.2048kB")
        XCTAssertEqual(result.changes.map(\.id), expected)
        XCTAssertEqual(result.notes, [])
        XCTAssertEqual(result.status, .violations)
        let byID = Dictionary(uniqueKeysWithValues: result.changes.map { ($0.id, $0) })
        XCTAssertEqual(byID["topology.node.0.cpus"], DriftChange(id: "topology.node.0.cpus", group: .topology, old: "0-1", new: "0"))
        XCTAssertEqual(byID["topology.node.3.distances"]?.new, "30 22 16 10")
        XCTAssertNil(byID["topology.node.2.memory"]?.old)
        XCTAssertEqual(byID["topology.node.2.memory"]?.new, "257624 kB")
        XCTAssertEqual(byID["hugepages.node.0.2048kB"], DriftChange(id: "hugepages.node.0.2048kB", group: .kernel, old: "8", new: nil))
    }

    func testKernelUpgrade() throws {
        let result = diff(try snapshot("linux-6.1-2node"), try snapshot("linux-6.12-2node"))
        XCTAssertEqual(result.changes.map(\.id), [
            "topology.node.0.memory", "kernel.release", "weighted_interleave.node.0", "weighted_interleave.node.1",
        ])
        XCTAssertEqual(result.changes[1], DriftChange(id: "kernel.release", group: .kernel, old: "6.1.0-56-amd64", new: "6.12.117+deb12-amd64"))
        XCTAssertEqual(result.changes[0].old, "469116 kB", "1.5% more reserved by 6.12 on node 0: counted")
        XCTAssertEqual(result.notes.map(\.id), ["topology.node.1.memory"], "32 kB on node 1: shown, not counted")
        XCTAssertEqual(result.notes.first?.note, "moved by less than 1% of the node")
    }

    func testRealtimeKernelLosesNumaBalancingAndTHP() throws {
        let result = diff(try snapshot("linux-6.1-2node"), try snapshot("linux-rt-2node"))
        let ids = result.changes.map(\.id)
        XCTAssertTrue(ids.contains("kernel.release"))
        let balancing = try XCTUnwrap(result.changes.first { $0.id == "kernel.numa_balancing" })
        XCTAssertEqual(balancing.old, "on: normal (1)")
        XCTAssertNil(balancing.new, "the RT kernel has no such sysctl")
        XCTAssertTrue(ids.contains("thp.enabled") && ids.contains("thp.defrag"), "\(ids)")
    }

    func testSameHostIsNoDrift() throws {
        let old = try snapshot("linux-6.1-cpuless")
        var new = old
        new.takenAt = "2027-01-01T00:00:00Z"
        new.host.bootID = "another boot"
        let result = diff(old, new)
        XCTAssertEqual(result.changes, [])
        XCTAssertEqual(result.status, .success)
        XCTAssertTrue(DiffText.render(result).hasSuffix("NO DRIFT: nothing placement-relevant changed\n"))
    }

    func testBootArgumentsCountOnlyWhenTheyTouchPlacement() throws {
        let old = try snapshot("linux-6.1-2node")
        var new = old
        new.kernel.cmdline = "BOOT_IMAGE=/vmlinuz-6.1 console=ttyS1 panic=-1 quiet isolcpus=2-3 hugepagesz=2M hugepages=64 -- splash"
        let result = diff(old, new)
        XCTAssertEqual(result.changes.map(\.id), ["boot.isolcpus", "boot.hugepagesz", "boot.hugepages"])
        XCTAssertEqual(result.changes.map(\.group), [.boot, .boot, .boot])
        XCTAssertEqual(result.changes[0].new, "isolcpus=2-3")
        XCTAssertEqual(Set(result.notes.map(\.id)), ["boot.console", "boot.BOOT_IMAGE", "boot.init_arguments"])
        XCTAssertTrue(result.notes.allSatisfy { $0.note == "not a placement parameter" })
    }

    /// A snapshot is a file anyone could have written: what diff prints of it is escaped, and
    /// a long value is shown whole.
    func testTextShowsASnapshotsStringsEscaped() throws {
        let old = try snapshot("linux-6.1-2node")
        var new = old
        new.host.hostname = "vm\u{1B}[31mRED"
        new.kernel.release = "6.1\u{202E}evil"
        let long = "x=" + String(repeating: "a", count: 600)
        new.kernel.cmdline = old.kernel.cmdline + " evil=\u{1B}]0;title\u{07} \(long)"
        new.unreadable = [SnapshotUnreadable(id: "debugfs.numa_balancing", path: "/x\u{1B}[2Jy", error: "\u{9B}31m")]
        let text = DiffText.render(diff(old, new))
        let controls = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || $0 == "\u{202E}" }
        XCTAssertEqual(controls.map(\.value), [], text)
        XCTAssertTrue(text.contains("(host vm\\x1b[31mRED, kernel 6.1\\u{202e}evil,"), text)
        XCTAssertTrue(text.contains("boot.evil: absent -> evil=\\x1b]0;title\\x07"), text)
        XCTAssertTrue(text.contains("boot.x: absent -> \(long) ("), "shown whole: \(text)")
        XCTAssertTrue(text.contains("(/x\\x1b[2Jy: "), text)
    }

    func testUnreadableIsNotComparedAndMakesTheDiffIncomplete() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        let old = try SnapshotReaderTests.snapshot(host.path)
        try FileManager.default.removeItem(at: host.root.appendingPathComponent("sys/kernel/debug/sched/numa_balancing"))
        try host.write("sys/kernel/debug/sched/numa_balancing", "a file where a directory should be\n")
        let new = try SnapshotReaderTests.snapshot(host.path)
        XCTAssertEqual(new.unreadable.map(\.id), ["debugfs.numa_balancing"])
        let result = diff(old, new)
        XCTAssertEqual(result.changes, [], "three tunables not in the new snapshot are not called changed")
        XCTAssertEqual(result.notCompared.map(\.id), ["debugfs.numa_balancing"])
        XCTAssertEqual(result.notCompared.first?.side, "new")
        XCTAssertEqual(result.status, .incomplete)
        XCTAssertTrue(DiffText.render(result).contains("debugfs.numa_balancing: unreadable in new snapshot"))
    }

    func testDeviceLocalityAndActors() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        let old = try SnapshotReaderTests.snapshot(host.path)
        try host.write("sys/devices/pci0000:00/0000:3b:00.0/numa_node", "0\n")
        try host.write("proc/irq/121/smp_affinity_list", "0-3\n")
        try FileManager.default.removeItem(at: host.root.appendingPathComponent("proc/9001"))
        try host.write("etc/tuned/active_profile", "throughput-performance\n")
        let result = diff(old, try SnapshotReaderTests.snapshot(host.path))
        XCTAssertEqual(result.changes, [
            DriftChange(id: "device.net.ens1f0.numa_node", group: .devices, old: "1", new: "0"),
            DriftChange(id: "device.net.ens1f0.irqs", group: .devices, old: "2 3 2-3", new: "2 0-3 2-3"),
            DriftChange(id: "actor.numad", group: .actors, old: "running", new: "not running"),
            DriftChange(id: "actor.tuned.profile", group: .actors, old: "latency-performance", new: "throughput-performance"),
        ])
        let text = DiffText.render(result)
        XCTAssertTrue(text.contains("device locality:\n  device.net.ens1f0.numa_node: 1 -> 0\n"), text)
        XCTAssertTrue(text.hasSuffix("DRIFT: 4 placement-relevant changes (device locality 2, placement actors 2)\n"), text)
    }

    func testJSONRoundTripAndRefusals() throws {
        let host = try SyntheticHost.make()
        defer { host.remove() }
        let original = try SnapshotReaderTests.snapshot(host.path)
        let json = try JSONDocument.render(kind: .snapshot, original)
        XCTAssertEqual(try JSONDocument.decode(Snapshot.self, kind: .snapshot, from: Array(json.utf8)), original)

        func refusal(_ text: String) -> String {
            do {
                _ = try JSONDocument.decode(Snapshot.self, kind: .snapshot, from: Array(text.utf8))
                return "accepted"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(refusal(json.replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 2")),
                       "format_version 2 is not one this numaguard reads (it reads 1); use the numaguard that wrote it")
        XCTAssertEqual(refusal(try JSONDocument.render(kind: .topology, ["a": 1])), "not a snapshot: its kind is \"topology\"")
        XCTAssertTrue(refusal("numa_balancing=1").hasPrefix("not a JSON document"), refusal("numa_balancing=1"))
        XCTAssertEqual(refusal(#"{"format_version": 1, "kind": "snapshot"}"#), "invalid: tool_version is missing")
        XCTAssertEqual(refusal(json.replacingOccurrences(of: "\"cpus\" : \"2-3\"", with: "\"cpus\" : \"3-2\"")).prefix(32),
                       "invalid: topology.nodes[1].cpus:")
    }
}
