import NumaguardAudit
import NumaguardCore
import NumaguardHost
import NumaguardPolicy
import XCTest

/// Host states with devices, built by hand: one entry per link of the chain the reader
/// reports, so every check and every outcome is shown without a sysfs tree.
enum DeviceHost {
    /// Two nodes: CPUs 0-1 on node 0, 2-3 on node 1.
    static func state(_ devices: [HostDevice] = [], problems: [DeviceLocality.Problem] = []) -> HostState {
        let nodes = [0, 1].map { id in
            NodeInfo(id: id, cpus: IDSet([2 * id, 2 * id + 1]), memTotal: 1 << 30, memFree: 1 << 29, distances: id == 0 ? [10, 21] : [21, 10], hugePages: [])
        }
        let topology = Topology(numaEnabled: true, possibleNodes: IDSet([0, 1]), onlineNodes: IDSet([0, 1]), nodesWithCPU: IDSet([0, 1]),
                                nodesWithMemory: IDSet([0, 1]), nodes: nodes, possibleCPUs: IDSet(0...3), onlineCPUs: IDSet(0...3),
                                isolatedCPUs: IDSet(), nohzFullCPUs: IDSet())
        let kernel = KernelState(release: "6.1.0", commandLine: "ro", numaBalancing: 0, zoneReclaimMode: 0,
                                 transparentHugepage: "never", transparentHugepageDefrag: nil)
        var state = HostState(kernel: kernel, topology: topology, names: HostNames(hostname: "md-01", machineID: nil, bootID: nil))
        state.devices = DeviceLocality.Inventory(devices: devices, problems: problems)
        return state
    }

    static func address(_ text: String) -> PCIAddress? { PCIAddress(sysfsName: text) }

    static func vector(_ irq: Int, _ actions: String?, requested: IDSet?, effective: IDSet?, managed: Bool = false) -> DeviceIRQ {
        DeviceIRQ(mode: .msix, affinity: IRQAffinity(irq: irq, requested: requested, effective: effective, actions: actions), managedExpected: managed)
    }

    /// A virtio NIC: the vectors belong to the parent PCI function.
    static func nic(_ name: String = "eth0", at pci: String = "0000:21:00.0", node: Int? = 0, irqs: [DeviceIRQ] = []) -> HostDevice {
        HostDevice(kind: .net, name: name, address: address(pci), driver: "virtio-pci", pciClass: 0x020000, reportedNode: node, irqs: irqs)
    }

    static func loaded(_ yaml: String) throws -> LoadedPolicy {
        LoadedPolicy(policy: try PolicyLoader.parse(yaml, file: "p.yaml"), file: "p.yaml", digest: "0")
    }
}

final class DeviceChecksTests: XCTestCase {
    private func findings(_ devices: String, _ state: HostState) throws -> [Finding] {
        Evaluation.findings(try DeviceHost.loaded("version: 1\ndevices:\n" + devices), state)
    }

    private func outcomes(_ findings: [Finding]) -> [String] {
        findings.map { "\($0.check) \($0.outcome)" + ($0.subject.map { " [\($0)]" } ?? "") }
    }

    // MARK: present

    func testAnAbsentDeviceFailsPresentAndNothingElseIsJudged() throws {
        let result = try findings("  - {name: md-nic, match: {interface: ens1f0}, numa_node: 0, irqs: {cpus: 0-1}}\n", DeviceHost.state([DeviceHost.nic()]))
        XCTAssertEqual(outcomes(result), ["device.md-nic.present fail"])
        XCTAssertEqual(result[0].severity, .critical)
        XCTAssertEqual(result[0].expected, "at least 1 device matching interface ens1f0")
        XCTAssertEqual(result[0].actual, "none")
        XCTAssertEqual(result[0].remediation,
                       "install the device or bind its driver (numaguard snapshot lists the devices it sees), or change the match")
    }

    func testAnAbsenceIsIncompleteWhenADeviceCouldNotBeRead() throws {
        let problem = DeviceLocality.Problem(subject: "0000:3b:00.0", error: .unreadable(path: "sys/bus/pci/devices/0000:3b:00.0/class", errno: .accessDenied))
        let result = try findings("  - {name: md-nic, match: {driver: mlx5_core}}\n", DeviceHost.state(problems: [problem]))
        XCTAssertEqual(outcomes(result), ["device.md-nic.present incomplete"])
        XCTAssertEqual(result[0].actual, "none; 1 device could not be read (device.md-nic.read)")
    }

    func testCountBoundsAndOneDevicePerBusDevice() throws {
        let controller = HostDevice(kind: .nvme, name: "nvme0", address: DeviceHost.address("0000:01:00.0"), driver: "nvme", pciClass: 0x010802,
                                    reportedNode: 0, irqs: [DeviceHost.vector(30, "nvme0q0", requested: IDSet([0]), effective: IDSet([0]))])
        var namespace = controller
        namespace.kind = .block
        namespace.name = "nvme0n1"
        let other = HostDevice(kind: .nvme, name: "nvme1", address: DeviceHost.address("0000:02:00.0"), driver: "nvme", pciClass: 0x010802,
                               reportedNode: 1, irqs: [])
        let state = DeviceHost.state([controller, namespace, other])
        let byPCI = try findings("  - {name: disk, match: {pci: \"0000:01:00.0\"}, count: {max: 1}}\n", state)
        XCTAssertEqual(outcomes(byPCI), ["device.disk.present pass"])
        XCTAssertEqual(byPCI[0].actual, "1: nvme0 (0000:01:00.0)", "the controller and its namespace are one device")
        XCTAssertEqual(byPCI[0].expected, "exactly 1 device matching pci 0000:01:00.0")
        let byDriver = try findings("  - {name: disks, match: {driver: nvme}, count: {min: 0, max: 1}}\n", state)
        XCTAssertEqual(outcomes(byDriver), ["device.disks.present fail"])
        XCTAssertEqual(byDriver[0].expected, "0 to 1 devices matching driver nvme")
        XCTAssertEqual(byDriver[0].actual, "2: nvme0 (0000:01:00.0), nvme1 (0000:02:00.0)")
        XCTAssertEqual(byDriver[0].remediation, "narrow the match or raise count.max")
        let byBlock = try findings("  - {name: journal, match: {block: /dev/nvme0n1, driver: nvme}}\n", state)
        XCTAssertEqual(byBlock[0].actual, "1: nvme0n1 (0000:01:00.0)", "every given key holds: the namespace")
    }

    // MARK: numa_node and locality

    func testTheNodeTheDeviceIsAttachedTo() throws {
        let rule = "  - {name: md-nic, match: {interface: eth0}, numa_node: 0}\n"
        let right = try findings(rule, DeviceHost.state([DeviceHost.nic(node: 0)]))
        XCTAssertEqual(outcomes(right), ["device.md-nic.present pass", "device.md-nic.numa_node pass [eth0 (0000:21:00.0)]"])
        let wrong = try findings(rule, DeviceHost.state([DeviceHost.nic(node: 1)]))
        let finding = try XCTUnwrap(wrong.last)
        XCTAssertEqual(outcomes([finding]), ["device.md-nic.numa_node fail [eth0 (0000:21:00.0)]"])
        XCTAssertEqual(finding.severity, .critical)
        XCTAssertEqual(finding.expected, "attached to node 0")
        XCTAssertEqual(finding.actual, "eth0 (0000:21:00.0) on node 1")
        XCTAssertEqual(finding.remediation, "move the card to a slot of node 0's root complex, or change the policy; nothing numaguard can change")
    }

    func testMinusOneIsNoLocalityNeverNodeZero() throws {
        let result = try findings("  - {name: md-nic, match: {interface: eth0}, numa_node: 0}\n", DeviceHost.state([DeviceHost.nic(node: -1)]))
        let finding = try XCTUnwrap(result.last)
        XCTAssertEqual(outcomes([finding]), ["device.md-nic.locality fail [eth0 (0000:21:00.0)]"])
        XCTAssertEqual(finding.expected, "firmware reports the node of eth0 (0000:21:00.0)")
        XCTAssertEqual(finding.actual, "numa_node -1: the firmware gives no locality")
        XCTAssertEqual(finding.remediation, "enable NUMA/SRAT/_PXM reporting in the BIOS (e.g. 'PCIe NUMA locality', 'NPS'/'SNC' settings); "
                       + "as a stopgap root may write the node to /sys/bus/pci/devices/0000:21:00.0/numa_node (taints the kernel, lost at reboot)")
        XCTAssertFalse(result.contains { $0.check == "device.md-nic.numa_node" })
    }

    func testAnUnreadNodeIsIncomplete() throws {
        let result = try findings("  - {name: md-nic, match: {interface: eth0}, numa_node: 0}\n", DeviceHost.state([DeviceHost.nic(node: nil)]))
        XCTAssertEqual(outcomes([try XCTUnwrap(result.last)]), ["device.md-nic.numa_node incomplete [eth0 (0000:21:00.0)]"])
        XCTAssertEqual(result.last?.actual, "no numa_node could be read for eth0 (0000:21:00.0)")
    }

    // MARK: interrupts

    func testEachVectorOffTheDeclaredCPUsIsOneFinding() throws {
        let irqs = [DeviceHost.vector(44, "virtio1-config", requested: IDSet([0, 1]), effective: IDSet([1])),
                    DeviceHost.vector(45, "virtio1-input.0", requested: IDSet(0...3), effective: IDSet([3])),
                    DeviceHost.vector(46, "virtio1-output.0", requested: IDSet(0...3), effective: IDSet([0]))]
        let result = try findings("  - {name: md-nic, match: {interface: eth0}, irqs: {nodes: [0]}}\n", DeviceHost.state([DeviceHost.nic(irqs: irqs)]))
        XCTAssertEqual(outcomes(result), ["device.md-nic.present pass",
                                          "device.md-nic.irqs.effective fail [eth0 (0000:21:00.0) IRQ 45 virtio1-input.0]",
                                          "device.md-nic.irqs.requested fail [eth0 (0000:21:00.0) IRQ 46 virtio1-output.0]"])
        let effective = result[1]
        XCTAssertEqual(effective.severity, .critical)
        XCTAssertEqual(effective.expected, "IRQ 45 (virtio1-input.0) handled on CPUs 0-1")
        XCTAssertEqual(effective.actual, "effective CPU 3 (requested CPUs 0-3)")
        XCTAssertEqual(effective.remediation, "numaguard apply (writes smp_affinity_list 0-1)")
        XCTAssertNil(effective.pid)
        let requested = result[2]
        XCTAssertEqual(requested.severity, .warning, "asked elsewhere but handled in place: a warning")
        XCTAssertEqual(requested.expected, "IRQ 46 (virtio1-output.0) asked for CPUs within 0-1")
        XCTAssertEqual(requested.actual, "requested CPUs 0-3 (effective CPU 0)")
        XCTAssertFalse(result.contains { $0.check.contains("45") }, "an IRQ number is never part of an ID")
    }

    func testVectorsInPlaceAreOnePassPerDeviceAndAnUnstartedOneIsNoCPU() throws {
        let irqs = [DeviceHost.vector(50, "eth0-rx", requested: IDSet([2]), effective: IDSet([2])),
                    DeviceHost.vector(51, nil, requested: IDSet([3]), effective: IDSet())]
        let result = try findings("  - {name: md-nic, match: {interface: eth0}, irqs: {cpus: \"2-3\"}}\n", DeviceHost.state([DeviceHost.nic(irqs: irqs)]))
        XCTAssertEqual(outcomes(result), ["device.md-nic.present pass", "device.md-nic.irqs.effective pass [eth0 (0000:21:00.0)]",
                                          "device.md-nic.irqs.requested pass [eth0 (0000:21:00.0)]"])
        XCTAssertEqual(result[1].expected, "every interrupt of eth0 (0000:21:00.0) handled on CPUs 2-3")
        XCTAssertEqual(result[1].actual, "2 vectors handled within 2-3")
        XCTAssertEqual(result[2].actual, "2 vectors requested within 2-3")
    }

    func testAnUnknownEffectiveListIsIncompleteNeverEmpty() throws {
        let irqs = [DeviceHost.vector(60, "eth0-0", requested: IDSet([0]), effective: nil),
                    DeviceHost.vector(61, "eth0-1", requested: IDSet([0]), effective: nil)]
        let result = try findings("  - {name: md-nic, match: {interface: eth0}, irqs: {cpus: 0}}\n", DeviceHost.state([DeviceHost.nic(irqs: irqs)]))
        let unknown = try XCTUnwrap(result.first { $0.outcome == .incomplete })
        XCTAssertEqual(unknown.check, "device.md-nic.irqs.effective")
        XCTAssertEqual(unknown.actual, "effective_affinity_list unknown for 2 vectors (IRQ 60-61): a kernel before 4.13, or unreadable")
    }

    func testManagedVectorsFailWithTheBootRemedyOrAreReportedWhenAllowed() throws {
        let irqs = [DeviceHost.vector(70, "nvme0q0", requested: IDSet([0]), effective: IDSet([0])),
                    DeviceHost.vector(71, "nvme0q1", requested: IDSet([3]), effective: IDSet([3]), managed: true)]
        let nvme = HostDevice(kind: .nvme, name: "nvme0", address: DeviceHost.address("0000:01:00.0"), driver: "nvme", pciClass: 0x010802,
                              reportedNode: 0, irqs: irqs)
        let strict = try findings("  - {name: disk, match: {class: nvme}, irqs: {cpus: 0-1}}\n", DeviceHost.state([nvme]))
        XCTAssertEqual(outcomes(strict), ["device.disk.present pass", "device.disk.irqs.effective fail [nvme0 (0000:01:00.0) IRQ 71 nvme0q1]",
                                          "device.disk.irqs.requested pass [nvme0 (0000:01:00.0)]", "device.disk.irqs.managed pass [nvme0 (0000:01:00.0)]"])
        XCTAssertEqual(strict[1].remediation, "managed by the kernel: its affinity cannot be written; boot with isolcpus=managed_irq,CPUS "
                       + "to keep it off isolated CPUs (best effort), or set allow_managed: true to report it only")
        XCTAssertEqual(strict[3].severity, .info)
        XCTAssertEqual(strict[3].actual, "1 of 2 vectors expected to be managed by the kernel (driver nvme): IRQ 71")
        let allowed = try findings("  - {name: disk, match: {class: nvme}, irqs: {cpus: 0-1, allow_managed: true}}\n", DeviceHost.state([nvme]))
        XCTAssertEqual(outcomes(allowed), ["device.disk.present pass", "device.disk.irqs.effective pass [nvme0 (0000:01:00.0)]",
                                           "device.disk.irqs.requested pass [nvme0 (0000:01:00.0)]", "device.disk.irqs.managed fail [nvme0 (0000:01:00.0)]"])
        XCTAssertEqual(allowed[1].actual, "2 vectors handled within 0-1 (1 managed elsewhere: see irqs.managed)")
        XCTAssertEqual(allowed[3].severity, .info, "reported only: never fails an audit at the default --fail-on")
        XCTAssertEqual(allowed[3].expected, "managed vectors reported, not failed (allow_managed)")
        XCTAssertEqual(allowed[3].actual, "1 of 2 vectors expected to be managed by the kernel (driver nvme): IRQ 71; off CPUs 0-1: IRQ 71 (nvme0q1) effective CPU 3")
    }

    func testAHostileActionNameIsEscapedAndCut() throws {
        let hostile = "eth0\u{1B}]0;owned\u{07}\u{1B}[2J\\\n" + String(repeating: "x", count: 100)
        let irqs = [DeviceHost.vector(80, hostile, requested: IDSet([3]), effective: IDSet([3]))]
        let result = try findings("  - {name: md-nic, match: {driver: virtio-pci}, irqs: {cpus: 0}}\n",
                                  DeviceHost.state([DeviceHost.nic("eth\u{1B}[31m0", irqs: irqs)]))
        let finding = try XCTUnwrap(result.first { $0.outcome == .fail })
        let subject = try XCTUnwrap(finding.subject)
        XCTAssertEqual(subject, "eth\\x1b[31m0 (0000:21:00.0) IRQ 80 eth0\\x1b]0;owned\\x07\\x1b[2J\\x5c\\x0a"
                       + String(repeating: "x", count: 44) + "...")
        for text in [subject, finding.expected, finding.actual, finding.remediation] + result.compactMap(\.subject) {
            XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, text)
        }
    }

    func testACardWith2048VectorsGivesBoundedFindings() throws {
        let inPlace = (0..<2048).map { DeviceHost.vector(1000 + $0, "mlx5_comp\($0)@pci:0000:21:00.0", requested: IDSet([0, 1]), effective: IDSet([$0 % 2])) }
        let rule = "  - {name: md-nic, match: {interface: eth0}, numa_node: 0, irqs: {nodes: [0]}}\n"
        let good = try findings(rule, DeviceHost.state([DeviceHost.nic(irqs: inPlace)]))
        XCTAssertEqual(good.count, 4, "present, numa_node, one effective pass, one requested pass")
        XCTAssertEqual(good[2].actual, "2048 vectors handled within 0-1")
        let off = inPlace.map { DeviceHost.vector($0.irq, $0.affinity.actions, requested: IDSet(0...3), effective: IDSet([2]), managed: true) }
        let bad = try findings(rule, DeviceHost.state([DeviceHost.nic(irqs: off)]))
        XCTAssertEqual(bad.filter { $0.check == "device.md-nic.irqs.effective" && $0.outcome == .fail }.count, 2048, "one finding per broken link")
        let managed = try XCTUnwrap(bad.last)
        XCTAssertEqual(managed.check, "device.md-nic.irqs.managed")
        XCTAssertTrue(managed.actual.hasPrefix("2048 of 2048 vectors expected to be managed by the kernel (driver virtio-pci): IRQ 1000-3047"), managed.actual)
        XCTAssertLessThan(bad.map { $0.actual.utf8.count + $0.expected.utf8.count + ($0.subject?.utf8.count ?? 0) }.max() ?? 0, 400)
    }

    func testTheDeviceCheckIDs() {
        let table: [CheckID.DeviceCheck: String] = [
            .present: "present", .numaNode: "numa_node", .locality: "locality", .irqsEffective: "irqs.effective",
            .irqsRequested: "irqs.requested", .irqsManaged: "irqs.managed", .read: "read",
        ]
        XCTAssertEqual(Set(table.keys), Set(CheckID.DeviceCheck.allCases))
        for (check, tail) in table { XCTAssertEqual(CheckID.device("md-nic", check).description, "device.md-nic.\(tail)") }
        XCTAssertEqual(CheckID.workload("engine", .deviceReference).description, "workload.engine.device")
    }

    // MARK: order

    func testDevicesComeAfterClaimsAndBeforeWorkloads() throws {
        let policy = try DeviceHost.loaded("""
            version: 1
            host:
              kernel: {zone_reclaim_mode: 0}
            devices:
              - {name: md-nic, match: {interface: eth0}, numa_node: 0}
            workloads:
              - {name: engine, match: {comm: engine}, running: {min: 1}}
            """)
        XCTAssertEqual(Evaluation.findings(policy, DeviceHost.state([DeviceHost.nic()])).map(\.check),
                       ["host.kernel.zone_reclaim_mode", "device.md-nic.present", "device.md-nic.numa_node", "workload.engine.running"])
    }
}
