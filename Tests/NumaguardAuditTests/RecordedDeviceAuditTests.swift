import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// The device checks over a sysfs tree laid out as the kernel lays it out (SyntheticHost: a
/// PCI NIC on node 1 reached through /sys/class symlinks, a virtio NIC whose PCI parent reports
/// -1, an NVMe controller on node 0), read by the real reader.
final class RecordedDeviceAuditTests: XCTestCase {
    private func host() throws -> SyntheticHost {
        let host = try SyntheticHost.make()
        for (irq, effective, action) in [(120, "2", "ens1f0-0"), (121, "3", "ens1f0-1"), (122, "2", "ens1f0-2")] {
            try host.write("proc/irq/\(irq)/effective_affinity_list", "\(effective)\n")
            try host.write("sys/kernel/irq/\(irq)/actions", "\(action)\n")
        }
        return host
    }

    private let policy = """
        version: 1
        devices:
          - {name: md-nic, match: {interface: ens1f0}, numa_node: 1, irqs: {nodes: [1]}}
          - {name: mgmt-nic, match: {interface: eth0}, numa_node: 0}
          - {name: journal, match: {class: nvme}, numa_node: 0}
        workloads:
          - {name: engine, match: {comm: engine}, cpus: {nodes: ["netdev:ens1f0"]}}
          - {name: feed, match: {comm: feed}, cpus: {nodes: ["netdev:eth0"]}}
          - {name: lost, match: {comm: lost}, cpus: {nodes: ["netdev:eth9"]}}
        """

    func testEveryLinkOfTheChain() throws {
        let host = try host()
        defer { try? FileManager.default.removeItem(at: host.root) }
        let loaded = LoadedPolicy(policy: try PolicyLoader.parse(policy, file: "p.yaml"), file: "p.yaml", digest: "0")
        let audit = try Auditor.audit(root: HostRoot(path: host.path), policy: loaded, today: Day(year: 2026, month: 12, day: 2))
        func outcome(_ check: String) -> [Outcome] { audit.report.findings.filter { $0.check == check }.map(\.outcome) }
        XCTAssertEqual(outcome("device.md-nic.present"), [.pass])
        XCTAssertEqual(outcome("device.md-nic.numa_node"), [.pass])
        XCTAssertEqual(outcome("device.md-nic.irqs.effective"), [.pass])
        XCTAssertEqual(outcome("device.md-nic.irqs.requested"), [.pass])
        XCTAssertEqual(outcome("device.mgmt-nic.locality"), [.fail], "the virtio NIC's PCI parent reports -1")
        XCTAssertEqual(outcome("device.journal.numa_node"), [.pass])
        XCTAssertEqual(audit.state.deviceNodes[.netdev("ens1f0")].flatMap { try? $0.get() }, 1)
        XCTAssertEqual(outcome("workload.engine.device"), [.pass])
        XCTAssertEqual(outcome("workload.feed.device"), [.fail])
        XCTAssertEqual(outcome("workload.lost.device"), [.fail])
        XCTAssertEqual(audit.policy.workloads[0].cpus, .nodes(IDSet([1])))
    }
}
