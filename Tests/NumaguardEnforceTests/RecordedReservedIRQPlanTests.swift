@testable import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardPolicy
import TestSupport
import XCTest

/// `cpus.3.reserve.irqs` planned over the recorded guest `linux-6.1-2node-isolated`
/// (isolcpus=managed_irq,domain,3): on CPU 3 are IRQ 26 (a PCIe port, requested 3), 28
/// (virtio0-input.0, requested 1, effective 3), 30-32 (virtio1, requested 3) and 35 (nvme0q2,
/// a managed queue vector). Read by the real readers; only the boot ID is set by hand.
final class RecordedReservedIRQPlanTests: XCTestCase {
    static func plan(irqbalance: Bool) throws -> Plan {
        let text = """
            version: 1
            \(irqbalance ? "host:\n  irqbalance: {running: true}\n" : "")devices:
              - {name: md-nic, match: {pci: "0000:21:00.0"}}
              - {name: journal, match: {pci: "0000:11:00.0"}}
            workloads:
              - {name: engine, match: {comm: engine}}
            reserve:
              - {cpus: "3", for: [engine]}
            """
        let root = HostRoot(path: Fixtures.path("linux-6.1-2node-isolated"))
        let policy = try PolicyLoader.parse(text, file: "p.yaml")
        let loaded = LoadedPolicy(policy: policy, file: "p.yaml", digest: "0")
        var state = try Auditor.audit(root: root, policy: loaded, today: Day(year: 2026, month: 12, day: 2)).state
        state.names.bootID = "recorded"
        let report = AuditReport(policyFile: "p.yaml", policyDigest: "0",
                                 host: HostIdentity(hostname: nil, machineID: nil, bootID: "recorded", kernelRelease: state.kernel.release,
                                                    kernelCommandLine: state.kernel.commandLine),
                                 findings: Evaluation.findings(loaded, state), gone: [], unreadable: [], failOn: .warning)
        return Planner.plan(report, state: state, policy: policy, options: .init(selfPID: 1))
    }

    static func reservation(_ plan: Plan) -> [Action] {
        plan.actions.filter { $0.checks.contains("cpus.3.reserve.irqs") }
    }

    func testEveryIRQOnTheReservedCPUIsWrittenExceptTheManagedNVMeQueue() throws {
        let actions = Self.reservation(try Self.plan(irqbalance: false))
        let knobs = actions.filter { $0.kind == .setKnob }
        XCTAssertEqual(knobs.map(\.subject), ["irq.26.smp_affinity_list", "irq.28.smp_affinity_list", "irq.30.smp_affinity_list",
                                              "irq.31.smp_affinity_list", "irq.32.smp_affinity_list"])
        XCTAssertEqual(knobs.map(\.before), ["3", "1", "3", "3", "3"])
        XCTAssertEqual(knobs.map(\.after), ["0-2", "1", "0-2", "0-2", "0-2"],
                       "requested 3: the housekeeping CPUs; IRQ 28 keeps its requested CPU 1 (its effective CPU 3 lags)")
        XCTAssertEqual(knobs.map { $0.irq?.actions }, ["PCIe PME,aerdrv,pciehp", "virtio0-input.0", "virtio1-config", "virtio1-input.0",
                                                      "virtio1-output.0"])
        XCTAssertEqual(knobs.map { $0.irq?.device }, [nil, nil, "md-nic", "md-nic", "md-nic"])
        XCTAssertEqual(Set(knobs.compactMap { $0.irq?.bootID }), ["recorded"])
        let manual = actions.filter { $0.kind == .manual }
        XCTAssertEqual(manual.map(\.subject), ["IRQ 35 (nvme0q2)"])
        XCTAssertTrue(manual.first?.reason?.hasPrefix("IRQ 35 (nvme0q2) is expected to be managed by the kernel (driver nvme)") ?? false,
                      manual.first?.reason ?? "")
        XCTAssertTrue(manual.first?.reason?.hasSuffix("or name device journal in the reservation's irqs: to allow it there") ?? false,
                      manual.first?.reason ?? "")
    }

    func testTheRecordedIrqbalanceLeavesAllButItsBannedIRQToTheOperator() throws {
        let actions = Self.reservation(try Self.plan(irqbalance: true))
        XCTAssertEqual(actions.filter { $0.kind == .setKnob }.map(\.subject), ["irq.31.smp_affinity_list"], "irqbalance --banirq=31")
        let manual = actions.filter { $0.kind == .manual }
        XCTAssertEqual(manual.map(\.subject), ["IRQ 26 (PCIe PME,aerdrv,pciehp)", "IRQ 28 (virtio0-input.0)", "IRQ 30 (virtio1-config)",
                                               "IRQ 32 (virtio1-output.0)", "IRQ 35 (nvme0q2)"])
        XCTAssertEqual(manual[1].reason, "irqbalance (PID 199) rebalances every 10 s and would rewrite it: add --banirq=28 to IRQBALANCE_ARGS "
                       + "or ban CPUs 0,2-3, then re-run apply")
        XCTAssertTrue(manual[4].reason?.contains("managed by the kernel") ?? false, "managed comes first: no irqbalance advice")
    }
}
