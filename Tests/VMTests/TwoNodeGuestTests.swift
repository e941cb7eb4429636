import Foundation
import TestSupport
import XCTest

/// Debian's 6.1 kernel, two symmetric nodes (2 CPUs and 512 MiB each): topology and
/// inspect of processes started under numactl's membind, interleave and cpunodebind.
final class TwoNodeGuestTests: XCTestCase {
    static let script = """
        topology
        start membind numactl --membind=1 probe 64
        start interleave numactl --interleave=all probe 64
        start cpunode numactl --cpunodebind=1 probe 32 /bin/busybox
        start preferred numactl --preferred=1 probe 16
        for p in membind interleave cpunode preferred; do record $p; done
        numaguard inspect --name '^probe$' --format json >$OUT/by-name.json 2>&1; echo $? >$OUT/by-name.status
        numaguard inspect 99999 >/dev/null 2>$OUT/missing.err; echo $? >$OUT/missing.status
        """

    func testLinux61TwoNodes() throws {
        let guest = try Guest.boot(.linux61, .twoNode, script: Self.script)
        try PlacementOracle.assertTopologyAgrees(guest, nodes: [0, 1], cpus: [0: "0-1", 1: "2-3"], memoryOnly: "")

        let membind = try PlacementOracle.probe(guest, "membind")
        XCTAssertEqual(membind.policies, ["bind:1"])
        XCTAssertEqual(membind.report["mems_allowed"] as? String, "0-1")
        XCTAssertGreaterThanOrEqual(membind.anonymousBytes, 64 << 20)
        XCTAssertGreaterThanOrEqual(membind.anonymousShare(on: 1), 0.99)
        XCTAssertTrue((membind.report["verdict"] as? String ?? "").contains("% of anonymous memory"))
        XCTAssertTrue((membind.report["verdict"] as? String ?? "").contains("on node 1"))

        let interleave = try PlacementOracle.probe(guest, "interleave")
        XCTAssertEqual(interleave.policies, ["interleave:0-1"])
        XCTAssertEqual(interleave.anonymousShare(on: 0), 0.5, accuracy: 0.05)
        XCTAssertEqual(interleave.anonymousShare(on: 1), 0.5, accuracy: 0.05)

        let cpunode = try PlacementOracle.probe(guest, "cpunode")
        XCTAssertEqual(cpunode.policies, ["default"])
        XCTAssertEqual(cpunode.report["cpus_allowed"] as? String, "2-3")
        XCTAssertEqual(cpunode.report["cpus_allowed_nodes"] as? String, "1")
        let threads = try XCTUnwrap(cpunode.report["threads"] as? [[String: Any]])
        XCTAssertFalse(threads.isEmpty)
        for thread in threads { XCTAssertEqual(thread["node"] as? Int, 1, "thread last ran on node 1: \(thread)") }
        // The probe read /bin/busybox through a file mapping: page cache reported apart.
        let backing = try XCTUnwrap(cpunode.report["backing"] as? [String: [String: Int]])
        XCTAssertGreaterThan(backing["file"]?["total"] ?? 0, 0)

        let preferred = try PlacementOracle.probe(guest, "preferred")
        XCTAssertEqual(preferred.policies, ["prefer:1"])
        XCTAssertGreaterThanOrEqual(preferred.anonymousShare(on: 1), 0.99)

        // --name finds all four probes and nothing else.
        XCTAssertEqual(try guest.text("by-name.status").trimmingCharacters(in: .whitespacesAndNewlines), "0")
        let byName = try XCTUnwrap(try guest.json("by-name.json")["processes"] as? [[String: Any]])
        XCTAssertEqual(byName.count, 4)
        XCTAssertEqual(Set(byName.compactMap { ($0["process"] as? [String: Any])?["comm"] as? String }), ["probe"])
        XCTAssertEqual(try guest.text("missing.status").trimmingCharacters(in: .whitespacesAndNewlines), "66")
        XCTAssertTrue(try guest.text("missing.err").contains("no process with PID 99999"))

        // numa_balancing is a bitmask the guest kernel enables by default on a multi-node host.
        let balancing = try guest.text("numa_balancing").trimmingCharacters(in: .whitespacesAndNewlines)
        let kernel = try XCTUnwrap(try guest.json("topology.json")["kernel"] as? [String: Any])
        XCTAssertEqual(kernel["numa_balancing"] as? Int, Int(balancing))
    }
}
