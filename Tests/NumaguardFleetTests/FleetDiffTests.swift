import Foundation
import NumaguardCore
@testable import NumaguardFleet
import NumaguardReport
import NumaguardSnapshot
import TestSupport
import XCTest

/// fleet diff over snapshots of recorded hosts (`numaguard snapshot --host-root`), some
/// changed the way a drifted host would be: the majority per fact and the outliers by name.
final class FleetDiffTests: XCTestCase {
    private func snapshot(_ fixture: String) throws -> Snapshot {
        let result = try Command.numaguard(["snapshot", "--host-root", Fixtures.path(fixture)])
        XCTAssertTrue([0, 3].contains(result.status), result.stderr)
        return try SnapshotDocument.parse(Array(result.stdout.utf8))
    }

    private func make(_ snapshots: [(String, Snapshot)]) -> FleetDiff {
        FleetDiff.make(snapshots.map { (name: $0.0, file: "\($0.0).json", snapshot: $0.1) })
    }

    func testOneHostOffTheMajorityIsNamedPerFact() throws {
        let base = try snapshot("linux-6.1-2node")
        var drifted = base
        drifted.kernel.sysctls["kernel.numa_balancing"] = base.kernel.sysctls["kernel.numa_balancing"] == "0" ? "1" : "0"
        drifted.actors.running = ["irqbalance", "numad"]
        var otherHost = base
        otherHost.host = SnapshotHost(hostname: "other", machineID: "m2", bootID: "b2")
        otherHost.takenAt = "2030-01-01T00:00:00Z"
        otherHost.toolVersion = "9.9.9"
        let diff = make([("a", base), ("b", otherHost), ("c", drifted), ("d", base), ("e", base)])
        XCTAssertEqual(diff.status, .violations)
        XCTAssertEqual(diff.outlierHosts, ["c"], "hostname, machine id, boot id, taken_at and tool_version are never compared")
        let balancing = try XCTUnwrap(diff.differences.first { $0.id == "kernel.numa_balancing" })
        XCTAssertEqual(balancing.majority?.hosts, ["a", "b", "d", "e"])
        XCTAssertEqual(balancing.outliers.map(\.hosts), [["c"]])
        XCTAssertNotNil(diff.differences.first { $0.id == "actor.numad" })
        let text = FleetDiffText.render(diff)
        XCTAssertTrue(text.contains("kernel.numa_balancing: majority \(balancing.majority?.value ?? "?") (4 hosts); c: "), text)
        XCTAssertTrue(text.contains("kernel knobs:"), text)
        XCTAssertTrue(text.contains("placement actors:"), text)
        XCTAssertTrue(text.hasSuffix("FLEET DIFFERS: 3 facts differ; 1 host outside a majority: c\n"), text)
        XCTAssertEqual(make([("a", base), ("b", otherHost)]).status, .success)
    }

    func testATieHasNoMajorityAndListsEachGroup() throws {
        let older = try snapshot("linux-6.1-2node")
        let newer = try snapshot("linux-6.12-2node")
        let diff = make([("a", older), ("b", newer), ("c", older), ("d", newer)])
        let release = try XCTUnwrap(diff.differences.first { $0.id == "kernel.release" })
        XCTAssertNil(release.majority)
        XCTAssertEqual(release.outliers.map(\.hosts), [["a", "c"], ["b", "d"]])
        XCTAssertTrue(FleetDiffText.render(diff).contains("kernel.release: no majority; \(older.kernel.release) (a, c); \(newer.kernel.release) (b, d)"))
        XCTAssertEqual(diff.outlierHosts, ["a", "b", "c", "d"])
        let json = try Command.json(try JSONDocument.render(kind: .fleetDiff, diff))
        XCTAssertEqual(json["kind"] as? String, "fleet_diff")
        let first = try XCTUnwrap((json["differences"] as? [[String: Any]])?.first { $0["id"] as? String == "kernel.release" })
        XCTAssertTrue(first["majority"] is NSNull, "a tie is written as null, not left out: \(first)")
    }

    func testAbsentFactsNodeMemoryAndBootArguments() throws {
        let base = try snapshot("linux-6.1-2node")
        var lessMemory = base
        lessMemory.topology.nodes[0].memoryBytes -= lessMemory.topology.nodes[0].memoryBytes / 1000
        var otherRoot = base
        otherRoot.kernel.cmdline += " root=UUID=1234 console=ttyS1"
        var lostDevice = base
        lostDevice.kernel.sysctls["vm.zone_reclaim_mode"] = nil
        lostDevice.topology.nodes[1].memoryBytes /= 2
        let diff = make([("a", base), ("b", lessMemory), ("c", otherRoot), ("d", lostDevice), ("e", base)])
        XCTAssertEqual(diff.differences.map(\.id), ["topology.node.1.memory", "vm.zone_reclaim_mode"],
                       "0.1% less memory agrees; root= and console= are not placement parameters")
        let knob = try XCTUnwrap(diff.differences.last)
        XCTAssertNil(knob.outliers.first?.value, "absent on d")
        let json = try Command.json(try JSONDocument.render(kind: .fleetDiff, diff))
        let outlier = try XCTUnwrap(((json["differences"] as? [[String: Any]])?.last?["outliers"] as? [[String: Any]])?.first)
        XCTAssertTrue(outlier["value"] is NSNull, "an absent fact is written as null: \(outlier)")
        XCTAssertTrue(FleetDiffText.render(diff).contains("vm.zone_reclaim_mode: majority \(base.kernel.sysctls["vm.zone_reclaim_mode"] ?? "?") (4 hosts); d: absent"))
    }

    func testUnreadableFactsAreNotComparedAndMakeItIncomplete() throws {
        let base = try snapshot("linux-6.1-2node")
        var blind = base
        blind.kernel.numaBalancingDebug = [:]
        blind.unreadable = [SnapshotUnreadable(id: "debugfs.numa_balancing", path: "/sys/kernel/debug/sched/numa_balancing", error: "EACCES")]
        var full = base
        full.kernel.numaBalancingDebug = ["scan_delay_ms": "1000"]
        full.unreadable = []
        let diff = make([("a", full), ("b", blind), ("c", full)])
        XCTAssertEqual(diff.status, .incomplete)
        XCTAssertEqual(diff.notCompared.map(\.host), ["b"])
        XCTAssertTrue(FleetDiffText.render(diff).contains("FLEET AGREES on what was compared; INCOMPLETE"))
    }
}
