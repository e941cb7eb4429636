@testable import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// `plan` over the recorded guest `linux-6.1-2node-isolated` (isolcpus=managed_irq,domain,3;
/// IRQ 31 virtio1-input.0 moved to CPU 3 by hand; `IRQBALANCE_BANNED_CPULIST=2 irqbalance
/// --banirq=31` running, which put virtio1-config and -output.0 on CPU 3 too; PID 190 `probe`
/// pinned to CPU 3). Everything is read by the real readers from the recorded files (the
/// device reader, the isolation reader, the thread scan); only the boot ID, which the capture
/// does not hold, is set by hand.
final class RecordedIsolationPlanTests: XCTestCase {
    static let policy = """
        version: 1
        host:
          irqbalance: {running: true}
        devices:
          - {name: md-nic, match: {pci: "0000:21:00.0"}, irqs: {cpus: "0-2"}}
          - {name: journal, match: {pci: "0000:11:00.0"}, irqs: {cpus: "0-2"}}
        workloads:
          - {name: engine, match: {comm: engine}}
        reserve:
          - {cpus: "3", for: [engine]}
        """

    func testTheMovedVectorIsPlannedTheBalancedOnesAndTheManagedOneAreLeftAndThePinnedProbeIsVacated() throws {
        let root = HostRoot(path: Fixtures.path("linux-6.1-2node-isolated"))
        let policy = try PolicyLoader.parse(Self.policy, file: "p.yaml")
        let loaded = LoadedPolicy(policy: policy, file: "p.yaml", digest: "0")
        var state = try Auditor.audit(root: root, policy: loaded, today: Day(year: 2026, month: 12, day: 2)).state
        XCTAssertTrue(state.devices.problems.isEmpty, "\(state.devices.problems.map(\.subject))")
        let vectors = state.devices.devices.filter { $0.address?.description == "0000:11:00.0" }.flatMap(\.irqs)
        XCTAssertEqual(Set(vectors.filter(\.managedExpected).map(\.irq)), [34, 35, 36, 37], "nvme's queue vectors, not its admin vector")
        XCTAssertNil(state.names.bootID, "the capture has no boot_id")
        state.names.bootID = "recorded"
        XCTAssertEqual(state.isolation?.irqbalance.map(\.pid), [199])
        let findings = Evaluation.findings(loaded, state)
        let report = AuditReport(policyFile: "p.yaml", policyDigest: "0",
                                 host: HostIdentity(hostname: nil, machineID: nil, bootID: "recorded", kernelRelease: state.kernel.release,
                                                    kernelCommandLine: state.kernel.commandLine),
                                 findings: findings, gone: [], unreadable: [], failOn: .warning)
        let plan = Planner.plan(report, state: state, policy: policy, options: .init(selfPID: 1))

        let knobs = plan.actions.filter { $0.kind == .setKnob }
        XCTAssertEqual(knobs.map(\.subject), ["irq.31.smp_affinity_list"], "--banirq=31: irqbalance leaves it to apply")
        XCTAssertEqual(knobs.first?.before, "3")
        XCTAssertEqual(knobs.first?.after, "0-2")
        XCTAssertEqual(knobs.first?.irq, IRQTarget(irq: 31, actions: "virtio1-input.0", device: "md-nic", bootID: "recorded"))
        let manual = plan.actions.filter { $0.kind == .manual && $0.checks.contains { $0.hasPrefix("device.") } }
        XCTAssertEqual(manual.map(\.subject), ["eth1 (0000:21:00.0) IRQ 30 virtio1-config", "eth1 (0000:21:00.0) IRQ 32 virtio1-output.0",
                                              "nvme0 (0000:11:00.0) IRQ 35 nvme0q2"])
        XCTAssertEqual(manual[0].reason, "irqbalance (PID 199) rebalances every 10 s and would rewrite it: add --banirq=30 to IRQBALANCE_ARGS "
                       + "or ban CPUs 3, then re-run apply")
        XCTAssertTrue(manual[2].reason?.hasPrefix("IRQ 35 (nvme0q2) is expected to be managed by the kernel (driver nvme)") ?? false)

        let vacates = plan.actions.filter { $0.kind == .vacateCPUs }
        XCTAssertEqual(vacates.map { $0.process?.pid }, [190], "the probe pinned to CPU 3; everything else is on 0-2 (isolcpus=domain)")
        XCTAssertEqual(vacates.first?.process?.comm, "probe")
        XCTAssertEqual(vacates.first?.before, "1 thread allowed CPUs 3")
        XCTAssertEqual(vacates.first?.cpus, IDSet([3]))
    }
}
