import Foundation
import TestSupport
import XCTest

/// `policy check` on policies with `devices:` and device references: valid ones say how many
/// rules they hold, mistakes exit 78 located to file:line:col with the suggestion.
final class DevicePolicyCommandTests: XCTestCase {
    private func write(_ text: String) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("devices-\(UUID().uuidString).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func testAValidPolicyWithDevicesAndReferences() throws {
        let file = try write("""
            version: 1
            devices:
              - {name: md-nic, match: {interface: ens1f0}, numa_node: 0, irqs: {cpus: "0-1"}}
              - {name: journal-disk, match: {block: /dev/nvme0n1}, numa_node: 1}
            workloads:
              - name: engine
                match: {comm: engine}
                cpus: {nodes: ["netdev:ens1f0"]}
                memory: {policy: bind, nodes: [0, "pci:0000:21:00.0"]}
            waivers:
              - {check: device.journal-disk.numa_node, reason: "moves in the next window", expires: 2099-01-01}
            """)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try Command.numaguard(["policy", "check", file.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasSuffix("; 1 workload, 0 reservations, 1 waiver, 2 device rules\n"), result.stdout)
    }

    func testMistakesExit78Located() throws {
        let file = try write("""
            version: 1
            devices:
              - {name: md-nic, match: {interfac: ens1f0}}
            workloads:
              - {name: engine, match: {comm: engine}, cpus: {nodes: ["file:/data/journal"]}}
            """)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try Command.numaguard(["policy", "check", file.path])
        XCTAssertEqual(result.status, 78)
        XCTAssertEqual(result.stdout, "")
        XCTAssertTrue(result.stderr.contains("\(file.path):3:28: error: unknown key \"interfac\" in device md-nic.match"), result.stderr)
        XCTAssertTrue(result.stderr.contains("did you mean \"interface\"?"), result.stderr)
        XCTAssertTrue(result.stderr.contains("\(file.path):5:58: error: workload engine.cpus.nodes item: \"file:/data/journal\": file: and ip: references are only for numaguard run"),
                      result.stderr)
    }
}
