import Foundation
import TestSupport
import XCTest

/// The other Debian kernels and topologies: 6.12 (prefer (many)), 6.1 PREEMPT_RT (no
/// numa_balancing sysctl), four nodes with asymmetric distances, and a memory-only node.
final class KernelVariantTests: XCTestCase {
    func testLinux612PreferredMany() throws {
        let guest = try Guest.boot(.linux612, .twoNode, script: """
            topology
            start many numactl --preferred-many=0,1 probe 16
            start membind numactl --membind=0 probe 16
            for p in many membind; do record $p; done
            """)
        try PlacementOracle.assertTopologyAgrees(guest, nodes: [0, 1], cpus: [0: "0-1", 1: "2-3"], memoryOnly: "")
        let many = try PlacementOracle.probe(guest, "many")
        XCTAssertEqual(many.policies, ["prefer (many):0-1"])
        XCTAssertTrue(many.numaMaps.contains("prefer (many):0-1"), "the 6.12 kernel prints prefer (many)")
        let policy = try XCTUnwrap((many.report["policies"] as? [[String: Any]])?.first?["policy"] as? [String: Any])
        XCTAssertEqual(policy["mode"] as? String, "preferred-many")
        XCTAssertEqual(policy["nodes"] as? String, "0-1")
        let membind = try PlacementOracle.probe(guest, "membind")
        XCTAssertGreaterThanOrEqual(membind.anonymousShare(on: 0), 0.99)
    }

    func testLinuxRTHasNoNumaBalancingSysctl() throws {
        let guest = try Guest.boot(.rt, .twoNode, script: """
            topology
            start membind numactl --membind=1 probe 16
            record membind
            """)
        try PlacementOracle.assertTopologyAgrees(guest, nodes: [0, 1], cpus: [0: "0-1", 1: "2-3"], memoryOnly: "")
        XCTAssertEqual(try guest.text("numa_balancing").trimmingCharacters(in: .whitespacesAndNewlines), "absent")
        let kernel = try XCTUnwrap(try guest.json("topology.json")["kernel"] as? [String: Any])
        XCTAssertTrue(kernel["numa_balancing"] == nil || kernel["numa_balancing"] is NSNull, "absent sysctl is reported as absent")
        XCTAssertTrue((kernel["release"] as? String ?? "").contains("rt"), "\(kernel["release"] ?? "")")
        let membind = try PlacementOracle.probe(guest, "membind")
        XCTAssertEqual(membind.policies, ["bind:1"])
        XCTAssertGreaterThanOrEqual(membind.anonymousShare(on: 1), 0.99)
    }

    func testFourNodesWithAsymmetricDistances() throws {
        let guest = try Guest.boot(.linux61, .fourNodeAsymmetric, script: """
            topology
            start membind numactl --membind=3 probe 16
            record membind
            """)
        try PlacementOracle.assertTopologyAgrees(guest, nodes: [0, 1, 2, 3], cpus: [0: "0", 1: "1", 2: "2", 3: "3"], memoryOnly: "")
        let nodes = try XCTUnwrap((try guest.json("topology.json")["topology"] as? [String: Any])?["nodes"] as? [[String: Any]])
        let matrix = nodes.compactMap { $0["distances"] as? [Int] }
        XCTAssertEqual(matrix.count, 4)
        XCTAssertTrue(matrix.indices.contains { i in matrix.indices.contains { j in matrix[i][j] != matrix[j][i] } },
                      "at least one asymmetric pair, as the kernel reports it: \(matrix)")
        let membind = try PlacementOracle.probe(guest, "membind")
        XCTAssertGreaterThanOrEqual(membind.anonymousShare(on: 3), 0.99)
    }

    func testMemoryOnlyNode() throws {
        let guest = try Guest.boot(.linux61, .cpuless, script: """
            topology
            start far numactl --membind=2 probe 32
            record far
            """)
        try PlacementOracle.assertTopologyAgrees(guest, nodes: [0, 1, 2], cpus: [0: "0-1", 1: "2-3", 2: ""], memoryOnly: "2")
        let text = try guest.text("topology.txt")
        XCTAssertTrue(text.contains("memory-only nodes (no cpus): 2"), text)
        let far = try PlacementOracle.probe(guest, "far")
        XCTAssertEqual(far.policies, ["bind:2"])
        XCTAssertGreaterThanOrEqual(far.anonymousShare(on: 2), 0.99)
    }
}
