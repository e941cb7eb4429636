import Foundation
@testable import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import NumaguardReport
import XCTest

/// A device-failing audit in every format: the new checks key waivers, JUnit test names and
/// JSON on their dotted IDs like every other check, and hostile sysfs text stays escaped.
final class DeviceAuditGoldenTests: XCTestCase {
    static var report: AuditReport {
        get throws {
            let loaded = try DeviceHost.loaded("""
                version: 1
                devices:
                  - {name: md-nic, match: {interface: eth0}, numa_node: 0, irqs: {nodes: [0]}}
                  - {name: journal-disk, match: {class: nvme}, numa_node: 1, irqs: {cpus: "2-3", allow_managed: true}}
                  - {name: spare-nic, match: {interface: eth1}, numa_node: 0}
                  - {name: gpus, match: {class: gpu}, count: {min: 2}}
                workloads:
                  - {name: engine, match: {comm: engine}, cpus: {nodes: ["netdev:eth0"]}}
                  - {name: feed, match: {comm: feed}, cpus: {nodes: ["netdev:eth9"]}}
                waivers:
                  - {check: device.gpus.present, reason: "GPUs arrive in Q3", expires: 2099-01-01}
                """)
            let nic = DeviceHost.nic("eth0", node: 1, irqs: [
                DeviceHost.vector(45, "virtio1-input.0", requested: IDSet(0...3), effective: IDSet([3])),
                DeviceHost.vector(46, "virtio1-output.0\u{1B}[2J", requested: IDSet(0...3), effective: IDSet([1])),
            ])
            let nvme = HostDevice(kind: .nvme, name: "nvme0", address: DeviceHost.address("0000:01:00.0"), driver: "nvme", pciClass: 0x010802,
                                  reportedNode: 1, irqs: [DeviceHost.vector(51, "nvme0q1", requested: IDSet([0]), effective: IDSet([0]), managed: true),
                                                          DeviceHost.vector(52, "nvme0q2", requested: IDSet([2]), effective: IDSet([2]), managed: true)])
            let spare = DeviceHost.nic("eth1", at: "0000:00:02.0", node: -1)
            var state = DeviceHost.state([nic, nvme, spare])
            state.deviceNodes[.netdev("eth0")] = .success(1)
            state.deviceNodes[.netdev("eth9")] = .failure(.unknown(.netdev("eth9"), path: "/sys/class/net/eth9"))
            let findings = Evaluation.findings(loaded, state)
            return AuditReport(policyFile: "/etc/numaguard/devices.yaml", policyDigest: "sha256:d3v1ce",
                               host: HostIdentity(hostname: "md-01", machineID: nil, bootID: nil, kernelRelease: "6.1.0-18-amd64", kernelCommandLine: "ro"),
                               findings: Waivers.apply(loaded.policy.waivers, to: findings, today: Day(year: 2026, month: 12, day: 2)),
                               gone: [], unreadable: [], failOn: .warning)
        }
    }

    func testText() throws {
        try SampleReport.assertGolden(AuditText.render(try Self.report), "audit-devices.txt")
    }

    func testJSON() throws {
        try SampleReport.assertGolden(try JSONDocument.render(kind: .audit, try Self.report), "audit-devices.json")
    }

    func testJUnit() throws {
        try SampleReport.assertGolden(JUnitRenderer.render(try Self.report), "audit-devices.junit.xml")
    }

    func testPrometheusLabelsAreTheDottedIDs() throws {
        let text = PrometheusRenderer.render(try Self.report, timestamp: 0)
        XCTAssertTrue(text.contains("check=\"device.md-nic.irqs.effective\""), text)
        XCTAssertFalse(text.contains("\u{1B}"))
    }

    func testTheVerdict() throws {
        let report = try Self.report
        XCTAssertEqual(report.status, .violations)
        XCTAssertEqual(report.findings.first { $0.check == "device.gpus.present" }?.outcome, .waived)
    }
}
