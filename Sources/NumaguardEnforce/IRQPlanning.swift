import NumaguardAudit
import NumaguardCore
import NumaguardHost

/// A running irqbalance as the planner needs it: one that rebalances (not `--oneshot`) rewrites
/// every IRQ's affinity every 10 s except the IRQs it is told to leave (`--banirq`) and those of
/// the drivers it is told to leave (`--banmod`). Apply never fights it: such an IRQ is left to
/// the operator with what to change.
public struct IRQRewriter: Equatable, Sendable {
    public var pid: Int
    public var oneshot: Bool
    public var bannedIRQs: Set<Int>
    /// Module names (`virtio_net`); compared with `-` and `_` alike, as module names are.
    public var bannedModules: Set<String>

    public init(pid: Int, oneshot: Bool = false, bannedIRQs: Set<Int> = [], bannedModules: Set<String> = []) {
        self.pid = pid
        self.oneshot = oneshot
        self.bannedIRQs = bannedIRQs
        self.bannedModules = Set(bannedModules.map(Self.module))
    }

    /// It would rewrite IRQ `irq` of a device bound to `driver`.
    public func rewrites(irq: Int, driver: String?) -> Bool {
        if oneshot || bannedIRQs.contains(irq) { return false }
        return !(driver.map { bannedModules.contains(Self.module($0)) } ?? false)
    }

    /// A command line that could not be read bans nothing as far as numaguard knows: it is taken
    /// to rewrite every IRQ.
    public init(process: IRQBalanceProcess) {
        let arguments = process.arguments
        self.init(pid: process.pid, oneshot: arguments?.oneshot ?? false, bannedIRQs: Set(arguments?.bannedIRQs ?? []),
                  bannedModules: Set(arguments?.bannedModules ?? []))
    }

    static func module(_ name: String) -> String { String(name.map { $0 == "-" ? "_" : $0 }) }
}

extension Planning {
    /// One set_knob per failing vector: the declared CPUs that are online, written to
    /// `smp_affinity_list`. Left to the operator, with the reason, when the kernel manages the
    /// vector, when no declared CPU is online, when the boot is unknown (an IRQ number means
    /// nothing on another boot), or when an irqbalance would rewrite it.
    mutating func addIRQ(_ finding: Finding) {
        guard let found = DeviceChecks.vector(of: finding, policy: policy, state: state) else {
            return leave(finding, finding.remediation)
        }
        let vector = found.vector
        let label = "IRQ \(vector.irq)" + (vector.affinity.actions.map { " (\(DeviceChecks.untrusted($0)))" } ?? "")
        if vector.managedExpected {
            let driver = found.device.driver.map { " (driver \(DeviceChecks.untrusted($0)))" } ?? ""
            return leave(finding, "\(label) is expected to be managed by the kernel\(driver): its affinity cannot be written from "
                         + "user space, so apply never tries; boot with isolcpus=managed_irq,CPUS to keep it off isolated CPUs (best "
                         + "effort), or set allow_managed: true to report it only")
        }
        let online = state.topology.onlineCPUs
        let after = found.allowed.intersection(online)
        guard !after.isEmpty else {
            return leave(finding, "none of the CPUs \((found.allowed.isEmpty ? "none" : found.allowed.listString)) the policy allows \(label) is online: bring one online "
                         + "or change the policy")
        }
        guard let bootID = state.names.bootID else {
            return leave(finding, "the boot ID could not be read: apply writes an IRQ only on the boot its number was read on")
        }
        if let rewriter = irqRewriters.first(where: { $0.rewrites(irq: vector.irq, driver: found.device.driver) }) {
            let others = online.subtracting(after)
            return leave(finding, "irqbalance (PID \(rewriter.pid)) rebalances every 10 s and would rewrite it: add --banirq=\(vector.irq) "
                         + "to IRQBALANCE_ARGS" + (others.isEmpty ? "" : " or ban CPUs \(others.listString)") + ", then re-run apply")
        }
        let knob = Knob.irqAffinity(irq: vector.irq)
        if let index = knobs.firstIndex(where: { $0.knob == knob }) {
            if !knobs[index].checks.contains(finding.check) { knobs[index].checks.append(finding.check) }
            return
        }
        addKnob(knob, check: finding.check, before: vector.affinity.requested?.listString ?? "unknown", after: after.listString)
        knobs[knobs.count - 1].irq = IRQTarget(irq: vector.irq, actions: vector.affinity.actions, device: found.rule.name, bootID: bootID)
    }

    /// The caller's, else the irqbalance daemons the audit read (root's only; read when the
    /// policy has `host.irqbalance`): none known, nothing to avoid.
    var irqRewriters: [IRQRewriter] {
        options.irqRewriters ?? (state.isolation?.irqbalance ?? []).map(IRQRewriter.init(process:))
    }
}
