@testable import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardPolicy
import XCTest

/// Host states with devices, built by hand as the device reader reports them: two nodes (CPUs
/// 0-1 and 2-3), CPU 3 offline unless asked, a virtio NIC on node 1 and an NVMe controller.
enum IRQHost {
    static func state(_ devices: [HostDevice], online: IDSet = IDSet(0...2), bootID: String? = "boot-1") -> HostState {
        let nodes = [0, 1].map { id in
            NodeInfo(id: id, cpus: IDSet([2 * id, 2 * id + 1]), memTotal: 1 << 30, memFree: 1 << 29, distances: id == 0 ? [10, 21] : [21, 10], hugePages: [])
        }
        let topology = Topology(numaEnabled: true, possibleNodes: IDSet([0, 1]), onlineNodes: IDSet([0, 1]), nodesWithCPU: IDSet([0, 1]),
                                nodesWithMemory: IDSet([0, 1]), nodes: nodes, possibleCPUs: IDSet(0...3), onlineCPUs: online,
                                isolatedCPUs: IDSet(), nohzFullCPUs: IDSet())
        let kernel = KernelState(release: "6.1.0", commandLine: "ro", numaBalancing: 0, zoneReclaimMode: 0,
                                 transparentHugepage: "never", transparentHugepageDefrag: nil)
        var state = HostState(kernel: kernel, topology: topology, names: HostNames(hostname: "md-01", machineID: nil, bootID: bootID))
        state.devices = DeviceLocality.Inventory(devices: devices)
        return state
    }

    static func vector(_ irq: Int, _ actions: String, requested: String, effective: String, managed: Bool = false) -> DeviceIRQ {
        DeviceIRQ(mode: .msix, affinity: IRQAffinity(irq: irq, requested: try? IDListParser.parse(requested),
                                                     effective: try? IDListParser.parse(effective), actions: actions),
                  managedExpected: managed)
    }

    static func nic(_ irqs: [DeviceIRQ]) -> HostDevice {
        HostDevice(kind: .net, name: "eth1", address: PCIAddress(sysfsName: "0000:21:00.0"), driver: "virtio-pci", pciClass: 0x020000,
                   reportedNode: 1, irqs: irqs)
    }

    static func nvme(_ irqs: [DeviceIRQ]) -> HostDevice {
        HostDevice(kind: .nvme, name: "nvme0", address: PCIAddress(sysfsName: "0000:11:00.0"), driver: "nvme", pciClass: 0x010802,
                   reportedNode: 0, irqs: irqs)
    }

    static func plan(_ devices: String, _ state: HostState, rewriters: [IRQRewriter]? = nil) throws -> Plan {
        let policy = try PolicyLoader.parse("version: 1\ndevices:\n" + devices, file: "p.yaml")
        let loaded = LoadedPolicy(policy: policy, file: "p.yaml", digest: "0")
        let report = AuditReport(policyFile: "p.yaml", policyDigest: "0",
                                 host: HostIdentity(hostname: "md-01", machineID: nil, bootID: state.names.bootID, kernelRelease: "6.1.0",
                                                    kernelCommandLine: "ro"),
                                 findings: Evaluation.findings(loaded, state), gone: [], unreadable: [], failOn: .warning)
        return Planner.plan(report, state: state, policy: policy, options: .init(selfPID: 1, irqRewriters: rewriters))
    }
}

final class IRQPlannerTests: XCTestCase {
    let nicRule = "  - {name: md-nic, match: {interface: eth1}, irqs: {cpus: \"0-3\"}}\n"

    func testTwoVectorsOffTheDeclaredCPUsGiveTwoActionsOnTheOnlineOnes() throws {
        // Node 1 is CPUs 2-3; CPU 3 is offline. Vector 31 (CPU 3 before it went offline) is within.
        let state = IRQHost.state([IRQHost.nic([
            IRQHost.vector(30, "virtio1-config", requested: "0-3", effective: "0"),
            IRQHost.vector(31, "virtio1-input.0", requested: "3", effective: "3"),
            IRQHost.vector(32, "virtio1-output.0", requested: "0,1", effective: "1"),
        ])], online: IDSet([0, 1, 2]))
        let plan = try IRQHost.plan("  - {name: md-nic, match: {interface: eth1}, irqs: {nodes: [1]}}\n", state)
        XCTAssertEqual(plan.actions.map(\.kind), [.setKnob, .setKnob])
        let knobs = plan.actions
        XCTAssertEqual(knobs.map(\.subject), ["irq.30.smp_affinity_list", "irq.32.smp_affinity_list"])
        XCTAssertEqual(knobs.map(\.status), [.pending, .pending])
        XCTAssertEqual(knobs.map(\.after), ["2", "2"], "declared CPUs 2-3 that are online")
        XCTAssertEqual(knobs.map(\.value), ["2", "2"])
        XCTAssertEqual(knobs.map(\.before), ["0-3", "0-1"])
        XCTAssertEqual(knobs.map { $0.knob?.path }, ["proc/irq/30/smp_affinity_list", "proc/irq/32/smp_affinity_list"])
        XCTAssertEqual(knobs.map(\.checks), [["device.md-nic.irqs.effective"], ["device.md-nic.irqs.effective"]])
        XCTAssertEqual(knobs[0].irq, IRQTarget(irq: 30, actions: "virtio1-config", device: "md-nic", bootID: "boot-1"))
        XCTAssertEqual(knobs[0].requires.map(\.privilege), ["CAP_DAC_OVERRIDE"])
        XCTAssertEqual(knobs[0].requires.first?.exceptUID, 0)
        let text = EnforceText.render(plan, privileges: Privileges(uid: 0, effective: ["CAP_DAC_OVERRIDE"]))
        XCTAssertTrue(text.contains("1. set irq.30.smp_affinity_list (device md-nic, IRQ 30 virtio1-config)\n   before: 0-3\n   after:  2\n"), text)
    }

    func testARequestedOnlyFindingIsPlannedAsWell() throws {
        let state = IRQHost.state([IRQHost.nic([IRQHost.vector(31, "virtio1-input.0", requested: "0-3", effective: "1")])])
        let plan = try IRQHost.plan("  - {name: md-nic, match: {interface: eth1}, irqs: {cpus: \"0-1\"}}\n", state)
        XCTAssertEqual(plan.actions.map(\.subject), ["irq.31.smp_affinity_list"])
        XCTAssertEqual(plan.actions[0].checks, ["device.md-nic.irqs.requested"])
        XCTAssertEqual(plan.actions[0].after, "0-1")
    }

    func testAManagedVectorIsLeftWithTheReasonNeverWritten() throws {
        let state = IRQHost.state([IRQHost.nvme([
            IRQHost.vector(33, "nvme0q0", requested: "0-3", effective: "2"),
            IRQHost.vector(35, "nvme0q2", requested: "2", effective: "2", managed: true),
        ])])
        let plan = try IRQHost.plan("  - {name: journal, match: {class: nvme}, irqs: {cpus: \"0-1\"}}\n", state)
        XCTAssertEqual(plan.actions.map(\.kind), [.setKnob, .manual])
        XCTAssertEqual(plan.actions[0].subject, "irq.33.smp_affinity_list", "the admin vector is not managed")
        let manual = plan.actions[1]
        XCTAssertEqual(manual.status, .manual)
        XCTAssertEqual(manual.checks, ["device.journal.irqs.effective"])
        XCTAssertNil(manual.knob)
        XCTAssertTrue(manual.reason?.hasPrefix("IRQ 35 (nvme0q2) is expected to be managed by the kernel (driver nvme)") ?? false, manual.reason ?? "")
        XCTAssertTrue(manual.reason?.contains("isolcpus=managed_irq") ?? false)
    }

    func testIrqbalanceThatWouldRewriteItLeavesItManualUnlessItIsBanned() throws {
        let state = IRQHost.state([IRQHost.nic([
            IRQHost.vector(31, "virtio1-input.0", requested: "3", effective: "3"),
            IRQHost.vector(32, "virtio1-output.0", requested: "3", effective: "3"),
        ])], online: IDSet(0...3))
        let rule = "  - {name: md-nic, match: {interface: eth1}, irqs: {cpus: \"0-1\"}}\n"
        let balancing = try IRQHost.plan(rule, state, rewriters: [IRQRewriter(pid: 812, bannedIRQs: [32])])
        XCTAssertEqual(balancing.actions.map(\.kind), [.setKnob, .manual])
        XCTAssertEqual(balancing.actions[0].subject, "irq.32.smp_affinity_list", "--banirq=32: irqbalance leaves it alone")
        XCTAssertEqual(balancing.actions[1].reason,
                       "irqbalance (PID 812) rebalances every 10 s and would rewrite it: add --banirq=31 to IRQBALANCE_ARGS or ban CPUs 2-3, then re-run apply")
        let module = try IRQHost.plan(rule, state, rewriters: [IRQRewriter(pid: 812, bannedModules: ["virtio_pci"])])
        XCTAssertEqual(module.actions.map(\.kind), [.setKnob, .setKnob], "--banmod of the driver (virtio-pci is module virtio_pci)")
        let oneshot = try IRQHost.plan(rule, state, rewriters: [IRQRewriter(pid: 812, oneshot: true)])
        XCTAssertEqual(oneshot.actions.map(\.kind), [.setKnob, .setKnob], "--oneshot balances once and exits")
    }

    func testNoDeclaredCPUOnlineOrNoBootLeavesItManual() throws {
        let vectors = [IRQHost.vector(31, "virtio1-input.0", requested: "0-3", effective: "1")]
        let offline = try IRQHost.plan("  - {name: md-nic, match: {interface: eth1}, irqs: {cpus: \"3\"}}\n", IRQHost.state([IRQHost.nic(vectors)]))
        XCTAssertEqual(offline.actions.map(\.kind), [.manual])
        XCTAssertTrue(offline.actions[0].reason?.contains("none of the CPUs 3 the policy allows IRQ 31 (virtio1-input.0) is online") ?? false,
                      offline.actions[0].reason ?? "")
        let unknownBoot = try IRQHost.plan(nicRule.replacingOccurrences(of: "0-3", with: "2"), IRQHost.state([IRQHost.nic(vectors)], bootID: nil))
        XCTAssertEqual(unknownBoot.actions.map(\.kind), [.manual])
        XCTAssertTrue(unknownBoot.actions[0].reason?.contains("boot ID could not be read") ?? false)
    }

    func testAHostileHandlerNameIsEscapedInTheReason() throws {
        let state = IRQHost.state([IRQHost.nvme([IRQHost.vector(35, "nvme0q2\u{1b}[31m", requested: "2", effective: "2", managed: true)])])
        let plan = try IRQHost.plan("  - {name: journal, match: {class: nvme}, irqs: {cpus: \"0-1\"}}\n", state)
        XCTAssertFalse(plan.actions[0].reason?.contains("\u{1b}") ?? true)
        XCTAssertTrue(plan.actions[0].reason?.contains("nvme0q2\\x1b[31m") ?? false, plan.actions[0].reason ?? "")
    }
}

/// The hook filled by the audit: the irqbalance processes HostState read.
final class IRQPlannerIRQBalanceTests: XCTestCase {
    func testTheAuditsIrqbalanceIsUsedWhenTheCallerGivesNone() throws {
        var state = IRQHost.state([IRQHost.nic([IRQHost.vector(31, "virtio1-input.0", requested: "3", effective: "3"),
                                                IRQHost.vector(32, "virtio1-output.0", requested: "3", effective: "3")])], online: IDSet(0...3))
        var isolation = IsolationState(isolated: IDSet(), nohzFull: IDSet(), isolcpus: nil, workqueueCPUs: nil)
        isolation.irqbalance = [IRQBalanceProcess(pid: 812, arguments: IRQBalanceArguments.parse(["irqbalance", "--foreground", "--banirq=31"]),
                                                  environment: nil)]
        state.isolation = isolation
        let rule = "  - {name: md-nic, match: {interface: eth1}, irqs: {cpus: \"0-1\"}}\n"
        let plan = try IRQHost.plan(rule, state)
        XCTAssertEqual(plan.actions.map(\.kind), [.setKnob, .manual])
        XCTAssertEqual(plan.actions[0].subject, "irq.31.smp_affinity_list")
        XCTAssertTrue(plan.actions[1].reason?.hasPrefix("irqbalance (PID 812) rebalances every 10 s and would rewrite it: add --banirq=32") ?? false)
        // A command line that could not be read bans nothing.
        state.isolation?.irqbalance = [IRQBalanceProcess(pid: 812, arguments: nil, environment: nil)]
        XCTAssertEqual(try IRQHost.plan(rule, state).actions.map(\.kind), [.manual, .manual])
        state.isolation?.irqbalance = []
        XCTAssertEqual(try IRQHost.plan(rule, state).actions.map(\.kind), [.setKnob, .setKnob])
    }
}
