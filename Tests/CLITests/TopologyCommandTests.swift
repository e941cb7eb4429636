import Foundation
import TestSupport
import XCTest

/// `numaguard topology` on the machine running the tests, against the kernel's own files
/// and numactl --hardware.
final class TopologyCommandTests: XCTestCase {
    func testTextAgreesWithNumactlHardware() throws {
        let ours = try Command.numaguard(["topology"])
        XCTAssertEqual(ours.status, 0, ours.stderr)
        let numactl = try Command.run("/usr/bin/numactl", ["--hardware"])
        XCTAssertEqual(numactl.status, 0, "numactl --hardware must run (scripts/test installs numactl): \(numactl.stderr)")
        let expected = Oracle.numactlHardware(numactl.stdout)
        let actual = Oracle.numactlHardware(ours.stdout)
        XCTAssertFalse(expected.nodes.isEmpty)
        XCTAssertEqual(actual.nodes, expected.nodes)
        XCTAssertEqual(actual.cpus, expected.cpus)
        XCTAssertEqual(actual.sizeMB, expected.sizeMB)
        XCTAssertEqual(actual.distances, expected.distances)
        for node in expected.nodes {
            // Free memory moves between the two reads; a test process's noise is far below 256 MB.
            XCTAssertEqual(Double(actual.freeMB[node] ?? -1), Double(expected.freeMB[node] ?? 0), accuracy: 256, "node \(node) free")
        }
    }

    func testJSONAgreesWithSysfsAndProc() throws {
        let result = try Command.numaguard(["topology", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try Command.json(result.stdout)
        XCTAssertEqual(document["format_version"] as? Int, 1)
        XCTAssertEqual(document["kind"] as? String, "topology")
        let topology = try XCTUnwrap(document["topology"] as? [String: Any])
        let kernel = try XCTUnwrap(document["kernel"] as? [String: Any])
        func sys(_ path: String) throws -> String {
            try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(topology["online_cpus"] as? String, try sys("/sys/devices/system/cpu/online"))
        XCTAssertEqual(kernel["release"] as? String, try sys("/proc/sys/kernel/osrelease"))
        XCTAssertEqual(kernel["cmdline"] as? String, try sys("/proc/cmdline"))
        if let balancing = try? sys("/proc/sys/kernel/numa_balancing") {
            XCTAssertEqual(kernel["numa_balancing"] as? Int, Int(balancing))
        } else {
            XCTAssertNil(kernel["numa_balancing"] as? Int)
        }
        if FileManager.default.fileExists(atPath: "/sys/devices/system/node") {
            XCTAssertEqual(topology["numa_enabled"] as? Bool, true)
            XCTAssertEqual(topology["online_nodes"] as? String, try sys("/sys/devices/system/node/online"))
            let nodes = try XCTUnwrap(topology["nodes"] as? [[String: Any]])
            for node in nodes {
                let id = try XCTUnwrap(node["id"] as? Int)
                XCTAssertEqual(node["cpus"] as? String, try sys("/sys/devices/system/node/node\(id)/cpulist"))
                let distances = try sys("/sys/devices/system/node/node\(id)/distance").split(separator: " ").compactMap { Int($0) }
                XCTAssertEqual(node["distances"] as? [Int], distances)
            }
        }
    }

    func testBadHostRootIsAUsageError() throws {
        let result = try Command.numaguard(["topology", "--host-root", "/nonexistent/capture"])
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("--host-root /nonexistent/capture"), result.stderr)
    }
}
