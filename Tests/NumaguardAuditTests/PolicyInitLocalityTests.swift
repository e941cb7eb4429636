import Foundation
@testable import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// `policy init` over the recorded guests with PCI devices and CPU isolation: it declares each
/// NIC and NVMe controller by PCI address on the node QEMU put it on (the fixture's pci-map),
/// writes the NIC without locality as a comment, declares `host.isolation` as booted, and
/// auditing the same host against what it wrote passes every check (the round trip).
final class PolicyInitLocalityTests: XCTestCase {
    static let devices = ["linux-6.1-2node-devices", "linux-6.12-2node-devices", "linux-rt-2node-devices", "linux-6.1-2node-isolated"]

    /// Generates, loads and audits `root` against its own policy; every finding must pass.
    private func roundTrip(_ root: String, file: StaticString = #filePath, line: UInt = #line) throws -> (text: String, policy: Policy, report: AuditReport) {
        let host = HostRoot(path: root)
        let text = try PolicyInit.generate(root: host, request: .init(workloads: []))
        XCTAssertEqual(try PolicyInit.generate(root: host, request: .init(workloads: [])), text, "deterministic", file: file, line: line)
        let policy = try PolicyLoader.parse(text, file: "init.yaml")
        let report = try Auditor.run(root: host, policy: LoadedPolicy(policy: policy, file: "init.yaml", digest: SHA256.hex(text)),
                                     today: Day(year: 2026, month: 12, day: 2))
        XCTAssertEqual(report.status, .success, "\(text)\n\(report.findings.filter { $0.outcome != .pass })", file: file, line: line)
        XCTAssertEqual(report.findings.filter { $0.outcome != .pass }.map(\.check), [], text, file: file, line: line)
        return (text, policy, report)
    }

    /// pci-map rows: INDEX KIND NODE ROOT-PORT; the endpoint is the function under the port.
    private func pciMap(_ fixture: String) throws -> [(kind: String, node: Int?, endpoint: PCIAddress)] {
        let inventory = DeviceLocality.read(HostRoot(path: Fixtures.path(fixture)))
        let map = try String(contentsOfFile: Fixtures.path(fixture) + "/pci-map", encoding: .utf8)
        return try map.split(separator: "\n").map { row in
            let fields = row.split(separator: " ").map(String.init)
            let device = try XCTUnwrap(inventory.devices.first { $0.kind.rawValue == fields[1] && $0.busPath?.contains("/\(fields[3])/") == true },
                                       "\(fixture): no \(fields[1]) under \(fields[3])")
            return (fields[1], Int(fields[2]), try XCTUnwrap(device.address))
        }
    }

    func testEachRecordedDeviceIsDeclaredOnItsNodeAndRoundTrips() throws {
        for fixture in Self.devices {
            let (text, policy, report) = try roundTrip(Fixtures.path(fixture))
            XCTAssertFalse(text.contains("numa_node: -1"), text)
            for (kind, node, endpoint) in try pciMap(fixture) {
                let rule = policy.devices.first { $0.match.pci == endpoint }
                if let node {
                    XCTAssertEqual(rule?.numaNode, node, "\(fixture) \(kind) \(endpoint):\n\(text)")
                    XCTAssertEqual(rule?.match, DeviceMatch(pci: endpoint), "matched by PCI address only")
                } else {
                    XCTAssertNil(rule, "\(fixture): the -1 device is no entry:\n\(text)")
                    XCTAssertTrue(text.contains("  # \(endpoint) (\(kind) eth0, driver virtio_net): not declared, numa_node -1: the firmware gives no locality."),
                                  text)
                }
            }
            XCTAssertEqual(policy.devices.map(\.name), ["eth1", "nvme0"], fixture)
            XCTAssertTrue(text.contains("    match: {pci: \"0000:21:00.0\"}  # net eth1, driver virtio_net"), text)
            // Every device check ran and passed (roundTrip asserts no finding is not a pass).
            let checks = Set(report.findings.map(\.check))
            XCTAssertTrue(checks.isSuperset(of: ["device.eth1.present", "device.eth1.numa_node", "device.nvme0.numa_node"]), "\(checks.sorted())")
            // nvme's queue vectors are spread over every CPU: its irqs are a comment, not a rule.
            XCTAssertNil(policy.devices.first { $0.name == "nvme0" }?.irqs, text)
            XCTAssertTrue(text.contains("    # irqs: not declared: IRQ 34-35 handled on CPUs 2-3, outside node 0's CPUs 0-1"), text)
        }
    }

    func testInterruptsAreDeclaredOnlyWhereEveryVectorAlreadyFits() throws {
        // Recorded without tuning: eth1's vectors are handled on node 1 (effective 2 or 3) but
        // two ask for 0-3, which the audit warns about: no irqs, and the comment says why.
        let (plain, plainPolicy, _) = try roundTrip(Fixtures.path("linux-6.1-2node-devices"))
        XCTAssertNil(plainPolicy.devices.first { $0.name == "eth1" }?.irqs, plain)
        XCTAssertTrue(plain.contains("    # irqs: not declared: IRQ 31-32 asked for CPUs 0-3 (smp_affinity_list), outside node 1's CPUs 2-3"), plain)
        XCTAssertFalse(plain.contains("irqbalance"), "no interrupts or isolation declared: irqbalance is not judged\n\(plain)")
        // The isolated guest moved eth1's vectors to CPU 3 (requested and effective).
        let (isolated, policy, report) = try roundTrip(Fixtures.path("linux-6.1-2node-isolated"))
        XCTAssertEqual(policy.devices.first { $0.name == "eth1" }?.irqs, IRQPlacement(target: .nodes(IDSet([1]))), isolated)
        XCTAssertTrue(report.findings.contains { $0.check == "device.eth1.irqs.effective" && $0.outcome == .pass })
        XCTAssertTrue(report.findings.contains { $0.check == "device.eth1.irqs.requested" && $0.outcome == .pass })
    }

    func testIsolationIsDeclaredAsBootedAndReservationsAreNot() throws {
        let (text, policy, report) = try roundTrip(Fixtures.path("linux-6.1-2node-isolated"))
        XCTAssertEqual(policy.host.isolation, IsolationPolicy(isolated: IDSet([3]), nohzFull: IDSet([3]), managedIRQ: true), text)
        XCTAssertTrue(text.contains("  isolation: {isolated: \"3\", nohz_full: \"3\", managed_irq: true}"), text)
        XCTAssertTrue(policy.cpuReservations.isEmpty)
        XCTAssertTrue(text.contains("# CPU reservations (reserve: [{cpus, for}]) are not generated"), text)
        for check in ["host.isolation.isolated", "host.isolation.nohz_full", "host.isolation.managed_irq"] {
            XCTAssertTrue(report.findings.contains { $0.check == check && $0.outcome == .pass }, check)
        }
        // The guest's irqbalance bans CPU 2 (IRQBALANCE_BANNED_CPULIST=2), not the isolated 3:
        // declaring it running would fail banned_cpus, so it is a comment saying so.
        XCTAssertNil(policy.host.irqbalance, text)
        XCTAssertTrue(text.contains("  # irqbalance: not declared: it runs, and host.irqbalance.banned_cpus would fail: "), text)
        // Hosts that isolate nothing get no isolation key.
        for fixture in ["linux-6.1-2node-devices", "linux-6.1-2node"] {
            let plain = try PolicyInit.generate(root: HostRoot(path: Fixtures.path(fixture)), request: .init(workloads: []))
            XCTAssertFalse(plain.contains("isolation"), plain)
            XCTAssertFalse(plain.contains("reservations"), plain)
        }
    }

    func testAHostWithoutDevicesOrIsolationGetsTheSameTextAsBefore() throws {
        let text = try PolicyInit.generate(root: HostRoot(path: Fixtures.path("linux-6.1-2node")), request: .init(workloads: []))
        XCTAssertEqual(text, """
            # Generated by numaguard policy init from the host's current state.
            version: 1
            host:
              kernel:
                numa_balancing: normal
                zone_reclaim_mode: 0
                transparent_hugepage: always
              topology:
                nodes: 2
                cpus: {0: "0-1", 1: "2-3"}

            """)
    }

    /// Interface names are any bytes but `/` and NUL: a name holding `: `, a line break and `#`
    /// must not add a key, a device or a comment's end to the generated YAML.
    func testAHostileInterfaceNameCannotChangeTheYAML() throws {
        let copy = try Fixtures.copy("linux-6.1-2node-devices", keeping: [])
        defer { try? FileManager.default.removeItem(at: copy) }
        let net = copy.appendingPathComponent("sys/class/net")
        let hostile = "x: 1\n  - name: evil #\n    numa_node: 0"
        let breaks = "e\u{2028}  - name: evil2\u{FEFF}\r\n#"
        for (old, new) in [("eth1", hostile), ("eth0", breaks)] {
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: net.appendingPathComponent(old).path)
            try FileManager.default.removeItem(at: net.appendingPathComponent(old))
            try FileManager.default.createSymbolicLink(atPath: net.appendingPathComponent(new).path, withDestinationPath: target)
        }
        let (text, policy, _) = try roundTrip(copy.path)
        XCTAssertEqual(policy.devices.map(\.name), ["x__1___-_name__evil_______numa_node__0", "nvme0"], text)
        XCTAssertEqual(policy.devices.first?.match, DeviceMatch(pci: PCIAddress(sysfsName: "0000:21:00.0")))
        XCTAssertEqual(policy.devices.first?.numaNode, 1)
        XCTAssertFalse(text.contains("\u{2028}") || text.contains("\u{FEFF}") || text.contains("\r"), text)
        XCTAssertTrue(text.contains("# net x: 1\\x0a  - name: evil #\\x0a    numa_node: 0, driver virtio_net"), text)
        XCTAssertTrue(text.contains("(net e\\u{2028}  - name: evil2\\u{feff}\\x0d\\x0a#, driver virtio_net): not declared"), text)
        // The structure is the generated one: no key, device or workload came from the names.
        XCTAssertNil(policy.host.isolation)
        XCTAssertNil(policy.host.irqbalance)
        XCTAssertTrue(policy.workloads.isEmpty)
        let keys = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix(" ") }
        XCTAssertEqual(keys, ["version: 1", "host:", "devices:"], text)
        XCTAssertEqual(text.split(separator: "\n").filter { $0.hasPrefix("  - name: ") }.count, 2, text)
    }

    /// This development VM's case: its only NIC reports -1. A `devices:` key holding only
    /// comments would be null, which the loader refuses: the key is left out.
    func testAHostWhoseOnlyDeviceHasNoLocalityDeclaresNoDevicesKey() throws {
        let copy = try Fixtures.copy("linux-6.1-2node-devices", keeping: [])
        defer { try? FileManager.default.removeItem(at: copy) }
        for entry in ["net/eth1", "nvme/nvme0", "block/nvme0n1"] {
            try FileManager.default.removeItem(at: copy.appendingPathComponent("sys/class/\(entry)"))
        }
        let (text, policy, _) = try roundTrip(copy.path)
        XCTAssertTrue(policy.devices.isEmpty)
        XCTAssertTrue(text.contains("# devices: none declared\n"), text)
        XCTAssertTrue(text.contains("  # 0000:01:00.0 (net eth0, driver virtio_net): not declared, numa_node -1"), text)
    }

    /// A device that cannot be read makes any `devices:` rule incomplete in the audit: none is
    /// declared, and the comment names the device and the error.
    func testAnUnreadableDeviceDeclaresNoDevices() throws {
        let copy = try Fixtures.copy("linux-6.1-2node-devices", keeping: [])
        defer { try? FileManager.default.removeItem(at: copy) }
        try "x\n".write(to: copy.appendingPathComponent("sys/devices/pci0000:20/0000:20:00.0/0000:21:00.0/numa_node"), atomically: false, encoding: .utf8)
        let (text, policy, _) = try roundTrip(copy.path)
        XCTAssertTrue(policy.devices.isEmpty)
        XCTAssertTrue(text.contains("# devices: not declared: 1 device could not be read (eth1: "), text)
        XCTAssertTrue(text.contains("invalid numa_node \"x\""), text)
    }

    /// Two devices whose names sanitize alike get distinct names.
    func testNamesAreUnique() {
        var names: Set<String> = []
        let device = { (name: String) in HostDevice(kind: .net, name: name, address: nil, driver: nil, pciClass: nil, reportedNode: 0, irqs: []) }
        XCTAssertEqual(PolicyInit.uniqueName(for: device("a.b"), among: &names), "a_b")
        XCTAssertEqual(PolicyInit.uniqueName(for: device("a:b"), among: &names), "a_b-2")
        XCTAssertEqual(PolicyInit.uniqueName(for: device("a_b"), among: &names), "a_b-3")
        XCTAssertEqual(PolicyInit.uniqueName(for: device("LOC"), among: &names), "net-LOC", "a name watch keeps for a kernel row")
        XCTAssertEqual(PolicyInit.uniqueName(for: device("other"), among: &names), "net-other")
        XCTAssertEqual(PolicyInit.uniqueName(for: device("é€"), among: &names), "net")
        let long = String(repeating: "n", count: 80)
        XCTAssertEqual(PolicyInit.uniqueName(for: device(long), among: &names), String(repeating: "n", count: 64))
        XCTAssertEqual(PolicyInit.uniqueName(for: device(long), among: &names), String(repeating: "n", count: 62) + "-2")
        XCTAssertTrue(names.allSatisfy { name in
            name.utf8.count <= 64 && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_".unicodeScalars.contains($0)) }
        }, "\(names)")
    }

    /// A comm is any bytes its process chose: quoted, it reads back as itself (no folded line
    /// break, no control character the YAML loader refuses).
    func testAHostileCommReadsBackAsItself() throws {
        for comm in ["a: b # c", "line\nbreak", "esc\u{1B}[31m", "tab\there", "q\"uo\\te", "bom\u{FEFF}", "ls\u{2028}ps\u{2029}", "del\u{7F}\u{85}"] {
            let text = "version: 1\nworkloads:\n  - name: w\n    match: {comm: \(PolicyInit.quoted(comm))}\n"
            let policy = try PolicyLoader.parse(text, file: "comm.yaml")
            XCTAssertEqual(policy.workloads.first?.match.comm, comm, text)
        }
    }
}
