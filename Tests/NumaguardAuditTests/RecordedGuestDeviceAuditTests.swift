import Foundation
import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// The device checks and references over sysfs trees real kernels laid out (6.1, 6.12 and RT
/// guests on q35 with a NIC behind a node-1 host bridge, an NVMe behind a node-0 one and a NIC
/// on the main root bus, which has no locality), read by the real reader. Where each device
/// went is read from the fixture's `pci-map` (what QEMU was told), never assumed here.
final class RecordedGuestDeviceAuditTests: XCTestCase {
    static let fixtures = ["linux-6.1-2node-devices", "linux-6.12-2node-devices", "linux-rt-2node-devices"]

    /// `pci-map` lines: INDEX KIND NODE|none ROOT-PORT.
    private func placement(_ fixture: String) throws -> [(kind: String, node: Int?, port: String)] {
        let text = try String(contentsOfFile: Fixtures.path(fixture) + "/pci-map", encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ").map(String.init)
            return (fields[1], Int(fields[2]), fields[3])
        }
    }

    /// The class device whose link runs through `port` (`sys/class/CLASS/NAME -> …/PORT/…`).
    private func name(_ fixture: String, class kind: String, under port: String) throws -> String {
        let directory = Fixtures.path(fixture) + "/sys/class/\(kind)"
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + name)
            if target.contains("/\(port)/") { return name }
        }
        throw XCTSkip("no \(kind) device under \(port) in \(fixture)")
    }

    func testEachDeviceIsWhereQEMUPutItAndReferencesResolveThere() throws {
        for fixture in Self.fixtures {
            let map = try placement(fixture)
            let nic = try XCTUnwrap(map.first { $0.kind == "net" && $0.node != nil }, fixture)
            let bare = try XCTUnwrap(map.first { $0.kind == "net" && $0.node == nil }, fixture)
            let disk = try XCTUnwrap(map.first { $0.kind == "nvme" }, fixture)
            let nicName = try name(fixture, class: "net", under: nic.port)
            let bareName = try name(fixture, class: "net", under: bare.port)
            let nicNode = try XCTUnwrap(nic.node)
            let diskNode = try XCTUnwrap(disk.node)
            let policy = """
                version: 1
                devices:
                  - {name: fast-nic, match: {interface: \(nicName)}, numa_node: \(nicNode), irqs: {nodes: [\(nicNode)]}}
                  - {name: bare-nic, match: {interface: \(bareName)}, numa_node: 0}
                  - {name: journal, match: {class: nvme}, numa_node: \(diskNode)}
                  - {name: wrong, match: {class: nvme}, numa_node: \(1 - diskNode)}
                workloads:
                  - {name: engine, match: {comm: engine}, cpus: {nodes: ["netdev:\(nicName)"]}, memory: {policy: bind, nodes: ["block:nvme0n1"]}}
                  - {name: feed, match: {comm: feed}, cpus: {nodes: ["netdev:\(bareName)"]}}
                """
            let loaded = LoadedPolicy(policy: try PolicyLoader.parse(policy, file: "p.yaml"), file: "p.yaml", digest: "0")
            let audit = try Auditor.audit(root: HostRoot(path: Fixtures.path(fixture)), policy: loaded,
                                          today: Day(year: 2026, month: 12, day: 2))
            func outcomes(_ check: String) -> [Outcome] { audit.report.findings.filter { $0.check == check }.map(\.outcome) }

            XCTAssertEqual(outcomes("device.fast-nic.present"), [.pass], fixture)
            XCTAssertEqual(outcomes("device.fast-nic.numa_node"), [.pass], fixture)
            XCTAssertEqual(outcomes("device.bare-nic.locality"), [.fail], "\(fixture): the main root bus has no _PXM")
            XCTAssertEqual(outcomes("device.bare-nic.numa_node"), [], "\(fixture): -1 is its own finding, not node 0")
            XCTAssertEqual(outcomes("device.journal.present"), [.pass], "\(fixture): nvme0 and nvme0n1 are one device")
            XCTAssertEqual(outcomes("device.journal.numa_node"), [.pass], fixture)
            XCTAssertEqual(outcomes("device.wrong.numa_node"), [.fail], fixture)
            XCTAssertEqual(audit.state.deviceNodes[.netdev(nicName)].flatMap { try? $0.get() }, nicNode, fixture)
            XCTAssertEqual(audit.state.deviceNodes[.block("nvme0n1")].flatMap { try? $0.get() }, diskNode, fixture)
            XCTAssertEqual(outcomes("workload.engine.device"), [.pass, .pass], fixture)
            XCTAssertEqual(outcomes("workload.feed.device"), [.fail], fixture)
            XCTAssertEqual(audit.policy.workloads[0].cpus, .nodes(IDSet([nicNode])), fixture)
            XCTAssertEqual(audit.policy.workloads[0].memory?.nodes, IDSet([diskNode]), fixture)

            // The NIC's vectors are the virtio parent's MSI-X entries, each with where it was asked
            // to go and where it is handled, as the capture holds them.
            let device = try XCTUnwrap(audit.state.devices.devices.first { $0.name == nicName }, fixture)
            XCTAssertFalse(device.irqs.isEmpty, fixture)
            for vector in device.irqs {
                XCTAssertEqual(vector.mode, .msix, fixture)
                let requested = try String(contentsOfFile: Fixtures.path(fixture) + "/proc/irq/\(vector.irq)/smp_affinity_list", encoding: .utf8)
                XCTAssertEqual(vector.affinity.requested, try IDListParser.parse(Lex.trimmed(requested)), fixture)
            }
        }
    }
}
