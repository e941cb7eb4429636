import Foundation
@testable import NumaguardAudit
import NumaguardCore
import NumaguardEnforce
import NumaguardHost
import NumaguardPolicy
import XCTest

/// `cpus.LIST.reserve.irqs` planned over hand-built host states (IRQHost's two nodes, CPUs
/// 0-3 online unless asked): the IRQ scan the audit judged, and the devices when the test
/// needs one.
enum ReservedIRQHost {
    static func irq(_ irq: Int, _ actions: String, requested: String, effective: String) -> IRQAffinity {
        IRQAffinity(irq: irq, requested: try? IDListParser.parse(requested), effective: try? IDListParser.parse(effective), actions: actions)
    }

    static func state(_ irqs: [IRQAffinity], devices: [HostDevice] = [], isolated: IDSet = IDSet()) -> HostState {
        var state = IRQHost.state(devices, online: IDSet(0...3))
        state.topology.isolatedCPUs = isolated
        state.irqScan = IRQScan(irqs: irqs + devices.flatMap { $0.irqs.map(\.affinity) })
        return state
    }

    static func plan(_ sections: String, _ state: HostState, rewriters: [IRQRewriter]? = nil) throws -> Plan {
        let policy = try PolicyLoader.parse("version: 1\nworkloads:\n  - {name: engine, match: {comm: engine}}\n  - {name: feed, match: {comm: feed}}\n"
                                            + sections, file: "p.yaml")
        let loaded = LoadedPolicy(policy: policy, file: "p.yaml", digest: "0")
        let report = AuditReport(policyFile: "p.yaml", policyDigest: "0",
                                 host: HostIdentity(hostname: "md-01", machineID: nil, bootID: state.names.bootID, kernelRelease: "6.1.0",
                                                    kernelCommandLine: "ro"),
                                 findings: Evaluation.findings(loaded, state), gone: [], unreadable: [], failOn: .warning)
        return Planner.plan(report, state: state, policy: policy, options: .init(selfPID: 1, irqRewriters: rewriters))
    }

    static let reserve3 = "reserve:\n  - {cpus: \"3\", for: [engine]}\n"
}

final class ReservedIRQPlannerTests: XCTestCase {
    func testTwoIRQsOnTheReservedCPUGiveTwoWritesKeepingTheRestOrTheHousekeepingCPUs() throws {
        let state = ReservedIRQHost.state([
            ReservedIRQHost.irq(40, "eth0-rx-0", requested: "0-3", effective: "3"),
            ReservedIRQHost.irq(41, "eth0-tx-0", requested: "3", effective: "3"),
            ReservedIRQHost.irq(42, "ttyS0", requested: "0-3", effective: "0"),
        ])
        let plan = try ReservedIRQHost.plan(ReservedIRQHost.reserve3, state)
        XCTAssertEqual(plan.actions.map(\.kind), [.setKnob, .setKnob], "IRQ 42 is handled on CPU 0: no finding")
        XCTAssertEqual(plan.actions.map(\.subject), ["irq.40.smp_affinity_list", "irq.41.smp_affinity_list"])
        XCTAssertEqual(plan.actions.map(\.status), [.pending, .pending])
        XCTAssertEqual(plan.actions.map(\.before), ["0-3", "3"])
        XCTAssertEqual(plan.actions.map(\.after), ["0-2", "0-2"], "requested 0-3 keeps 0-2; requested 3 goes to the housekeeping CPUs")
        XCTAssertEqual(plan.actions.map(\.checks), [["cpus.3.reserve.irqs"], ["cpus.3.reserve.irqs"]])
        XCTAssertEqual(plan.actions[0].irq, IRQTarget(irq: 40, actions: "eth0-rx-0", device: nil, bootID: "boot-1"))
        let text = EnforceText.render(plan, privileges: Privileges(uid: 0, effective: ["CAP_DAC_OVERRIDE"]))
        XCTAssertTrue(text.contains("1. set irq.40.smp_affinity_list (IRQ 40 eth0-rx-0)\n   before: 0-3\n   after:  0-2\n"), text)
    }

    func testTheHousekeepingCPUsLeaveOutIsolatedAndEveryReservedCPU() throws {
        let irqs = [ReservedIRQHost.irq(40, "eth0-rx-0", requested: "1-3", effective: "3"),
                    ReservedIRQHost.irq(41, "eth0-tx-0", requested: "3", effective: "3")]
        let reserve = "reserve:\n  - {cpus: \"3\", for: [engine]}\n  - {cpus: \"1\", for: [feed]}\n"
        let plan = try ReservedIRQHost.plan(reserve, ReservedIRQHost.state(irqs, isolated: IDSet([2])))
        XCTAssertEqual(plan.actions.map(\.subject), ["irq.40.smp_affinity_list", "irq.41.smp_affinity_list"])
        XCTAssertEqual(plan.actions.map(\.after), ["0", "0"], "not onto reserved CPU 1 nor isolated CPU 2")
        let none = try ReservedIRQHost.plan(reserve, ReservedIRQHost.state(irqs, isolated: IDSet([0, 2])))
        XCTAssertEqual(none.actions.map(\.kind), [.manual, .manual])
        XCTAssertEqual(none.actions[0].reason, "IRQ 40 (eth0-rx-0) has no CPU to go to: every online CPU is isolated or reserved (reserved 1,3): "
                       + "leave a housekeeping CPU or change the policy")
    }

    func testAManagedQueueVectorIsLeftAndAnUnmanagedOneOfTheSameDeviceIsWritten() throws {
        let nvme = IRQHost.nvme([IRQHost.vector(33, "nvme0q0", requested: "3", effective: "3"),
                                 IRQHost.vector(35, "nvme0q2", requested: "3", effective: "3", managed: true)])
        let plan = try ReservedIRQHost.plan(ReservedIRQHost.reserve3, ReservedIRQHost.state([], devices: [nvme]))
        XCTAssertEqual(plan.actions.map(\.kind), [.setKnob, .manual])
        XCTAssertEqual(plan.actions[0].subject, "irq.33.smp_affinity_list")
        XCTAssertEqual(plan.actions[1].subject, "IRQ 35 (nvme0q2)")
        XCTAssertEqual(plan.actions[1].checks, ["cpus.3.reserve.irqs"])
        XCTAssertEqual(plan.actions[1].reason, "IRQ 35 (nvme0q2) is expected to be managed by the kernel (driver nvme): its affinity cannot be "
                       + "written from user space, so apply never tries; boot with isolcpus=managed_irq,3 to keep it off CPUs 3 (best effort), "
                       + "or declare its device under devices: and name it in the reservation's irqs: to allow it there")
    }

    func testIrqbalanceThatWouldRewriteItLeavesItManualUnlessBanned() throws {
        let state = ReservedIRQHost.state([ReservedIRQHost.irq(40, "eth0-rx-0", requested: "3", effective: "3"),
                                           ReservedIRQHost.irq(41, "eth0-tx-0", requested: "3", effective: "3")])
        let plan = try ReservedIRQHost.plan(ReservedIRQHost.reserve3, state, rewriters: [IRQRewriter(pid: 812, bannedIRQs: [41])])
        XCTAssertEqual(plan.actions.map(\.kind), [.setKnob, .manual])
        XCTAssertEqual(plan.actions[0].subject, "irq.41.smp_affinity_list")
        XCTAssertEqual(plan.actions[1].reason,
                       "irqbalance (PID 812) rebalances every 10 s and would rewrite it: add --banirq=40 to IRQBALANCE_ARGS or ban CPUs 3, then re-run apply")
    }

    func testADeclaredDevicesIRQPassesAndIsNeverPlanned() throws {
        let nic = IRQHost.nic([IRQHost.vector(31, "virtio1-input.0", requested: "3", effective: "3")])
        let state = ReservedIRQHost.state([ReservedIRQHost.irq(40, "eth0-rx-0", requested: "0-3", effective: "3")], devices: [nic])
        let policy = "devices:\n  - {name: md-nic, match: {interface: eth1}, irqs: {cpus: \"3\"}}\n"
            + "reserve:\n  - {cpus: \"3\", for: [engine], irqs: [md-nic]}\n"
        let plan = try ReservedIRQHost.plan(policy, state)
        XCTAssertEqual(plan.actions.map(\.subject), ["irq.40.smp_affinity_list"], "IRQ 31 is md-nic's, which the reservation names")
        XCTAssertEqual(plan.actions.first?.after, "0-2")
    }

    func testADeviceRuleAndTheReservationFailingOnOneIRQShareOneWriteOnCPUsBothAccept() throws {
        let nic = IRQHost.nic([IRQHost.vector(31, "virtio1-input.0", requested: "1,3", effective: "3")])
        let state = ReservedIRQHost.state([], devices: [nic])
        let shared = try ReservedIRQHost.plan("devices:\n  - {name: md-nic, match: {interface: eth1}, irqs: {cpus: \"2-3\"}}\n"
                                              + ReservedIRQHost.reserve3, state)
        XCTAssertEqual(shared.actions.map(\.kind), [.setKnob])
        XCTAssertEqual(shared.actions.first?.checks, ["device.md-nic.irqs.requested", "cpus.3.reserve.irqs"])
        XCTAssertEqual(shared.actions.first?.after, "2", "md-nic allows 2-3, the reservation takes 3")
        XCTAssertEqual(shared.actions.first?.value, "2")
        XCTAssertEqual(shared.actions.first?.irq?.device, "md-nic")
        let contradiction = try ReservedIRQHost.plan("devices:\n  - {name: md-nic, match: {interface: eth1}, irqs: {cpus: \"3\"}}\n"
                                                     + ReservedIRQHost.reserve3, state)
        XCTAssertEqual(contradiction.actions.map(\.kind), [.setKnob, .manual])
        XCTAssertEqual(contradiction.actions[0].after, "3")
        XCTAssertEqual(contradiction.actions[1].checks, ["cpus.3.reserve.irqs"])
        XCTAssertEqual(contradiction.actions[1].reason, "IRQ 31 (virtio1-input.0): device.md-nic.irqs.requested puts it on CPU 3, none of which "
                       + "this check accepts: the policy contradicts itself; change it")
    }

    /// Planned and applied: an IRQ of no known device is written; one the kernel manages
    /// after all answers EIO and is refused; one whose handler changed since is skipped.
    func testApplyWritesRefusesAManagedOneAndSkipsARenamedHandler() throws {
        let state = ReservedIRQHost.state([ReservedIRQHost.irq(40, "eth0-rx-0", requested: "0-3", effective: "3"),
                                           ReservedIRQHost.irq(41, "eth0-tx-0", requested: "3", effective: "3"),
                                           ReservedIRQHost.irq(42, "eth0-misc", requested: "3", effective: "3")])
        let plan = try ReservedIRQHost.plan(ReservedIRQHost.reserve3, state)
        let host = MemoryHost()
        for (irq, name, requested) in [(40, "eth0-rx-0", "0-3"), (41, "eth0-tx-0", "3"), (42, "eth0-misc2", "3")] {
            host.knobs["proc/irq/\(irq)/smp_affinity_list"] = requested
            host.irqActions[irq] = name
            host.effective[irq] = IDSet([3])
        }
        host.unwritable = [41: .ioError]
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("reserved-irq-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: journal) }
        let applier = Applier(actuator: host, privileges: Privileges(uid: 0, effective: ["CAP_DAC_OVERRIDE"]), journal: try Journal(path: journal),
                              command: "apply", run: "run-1", protection: .none, clock: { "2026-12-02T10:00:00Z" })
        let report = applier.apply(plan.actions)
        XCTAssertEqual(report.results.map(\.outcome), [.done, .refused, .skipped])
        XCTAssertEqual(host.knobs["proc/irq/40/smp_affinity_list"], "0-2")
        XCTAssertEqual(host.knobs["proc/irq/41/smp_affinity_list"], "3", "the kernel refused it")
        XCTAssertEqual(host.knobs["proc/irq/42/smp_affinity_list"], "3", "not the same interrupt any more")
        XCTAssertTrue(report.results[1].detail.hasPrefix("IRQ 41 (eth0-tx-0) is managed or per-CPU"), report.results[1].detail)
        XCTAssertTrue(report.results[2].detail.hasPrefix("IRQ 42 is now \"eth0-misc2\", planned for \"eth0-misc\""), report.results[2].detail)
    }
}
