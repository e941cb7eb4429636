@testable import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// The audit reads devices only for a policy that names some, over a recorded tree. The
/// device reader itself (DeviceLocality) is tested with its own fixtures; these hold the
/// hookup to what it may read and to what a reference that gives no node means.
final class DeviceReaderHookupTests: XCTestCase {
    private func audit(_ yaml: String, log: HostReadLog? = nil) throws -> Audit {
        let root = HostRoot(path: Fixtures.path("linux-6.1-2node"))
        let loaded = LoadedPolicy(policy: try PolicyLoader.parse(yaml, file: "p.yaml"), file: "p.yaml", digest: "0")
        return try Auditor.audit(root: log.map { root.observed(by: $0) } ?? root, policy: loaded, today: Day(year: 2026, month: 12, day: 2))
    }

    func testAPolicyWithoutDevicesReadsNoDeviceFile() throws {
        let log = HostReadLog()
        let result = try audit("version: 1\nworkloads:\n  - {name: engine, match: {comm: engine}, cpus: {nodes: [1]}}\n", log: log)
        XCTAssertTrue(result.state.devices.devices.isEmpty)
        XCTAssertTrue(result.state.deviceNodes.isEmpty)
        let deviceReads = log.paths.filter { path in
            ["sys/class/", "sys/bus/pci", "proc/irq", "sys/kernel/irq", "sys/devices/pci"].contains { path.contains($0) }
        }
        XCTAssertEqual(deviceReads, [])
    }

    func testAReferenceToADeviceTheHostLacksFailsAndLeavesNoPlacement() throws {
        let result = try audit("version: 1\nworkloads:\n  - {name: engine, match: {comm: engine}, cpus: {nodes: [\"netdev:nope0\"]}}\n")
        XCTAssertEqual(Array(result.state.deviceNodes.keys), [.netdev("nope0")])
        let finding = try XCTUnwrap(result.report.findings.first { $0.check == "workload.engine.device" })
        XCTAssertEqual(finding.outcome, .fail, finding.actual)
        XCTAssertTrue(finding.actual.hasPrefix("netdev:nope0: "), finding.actual)
        XCTAssertNil(result.policy.workloads[0].cpus, "the planner gets nothing to aim at")
        XCTAssertEqual(result.report.status, .violations)
    }

    func testARuleForADeviceTheHostLacksFailsPresent() throws {
        let result = try audit("version: 1\ndevices:\n  - {name: nic, match: {interface: nope0}, numa_node: 0}\n")
        XCTAssertEqual(result.report.findings.map { "\($0.check) \($0.outcome)" }, ["device.nic.present fail"])
    }

    /// Each unreadable device is one incomplete finding, counted against the rule that names
    /// it, else the first rule that matches by driver or class (it may be one of theirs).
    func testAnUnreadableDeviceIsBlamedOnTheRuleThatCouldBeAboutIt() throws {
        let policy = try PolicyLoader.parse("""
            version: 1
            devices:
              - {name: nic, match: {interface: eth0}}
              - {name: disk, match: {block: nvme0n1}}
              - {name: gpus, match: {class: gpu}}
            """, file: "p.yaml")
        XCTAssertEqual(HostStateReader.blamed("nvme0n1", policy.devices), "disk")
        XCTAssertEqual(HostStateReader.blamed("eth0", policy.devices), "nic")
        XCTAssertEqual(HostStateReader.blamed("0000:3b:00.0", policy.devices), "gpus")
        XCTAssertEqual(HostStateReader.blamed("0000:3b:00.0", Array(policy.devices.prefix(2))), "nic")
    }
}
