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

/// What one failing finding asks of one IRQ. Device vectors and IRQs on reserved CPUs both come
/// down to this, so both are left manual for the same reasons and planned the same way.
struct IRQWrite {
    var affinity: IRQAffinity
    var managedExpected: Bool
    /// The device's driver: irqbalance's `--banmod` is by module.
    var driver: String?
    /// The policy's device rule, for the operator.
    var rule: String?
    /// The CPUs to write, online ones only; empty: `noCPU` says why.
    var after: IDSet
    /// Every CPU the finding accepts: an IRQ another finding already plans is narrowed to it.
    var accepted: IDSet
    var noCPU: String
    /// What to do instead when the kernel manages it.
    var managedAdvice: String

    /// "IRQ 45 (virtio1-input.0)", escaped.
    var label: String { "IRQ \(affinity.irq)" + (affinity.actions.map { " (\(DeviceChecks.untrusted($0)))" } ?? "") }
}

extension Planning {
    /// One set_knob per failing vector: the declared CPUs that are online, written to
    /// `smp_affinity_list`.
    mutating func addIRQ(_ finding: Finding) {
        guard let found = DeviceChecks.vector(of: finding, policy: policy, state: state) else {
            return leave(finding, finding.remediation)
        }
        var write = IRQWrite(
            affinity: found.vector.affinity, managedExpected: found.vector.managedExpected, driver: found.device.driver,
            rule: found.rule.name, after: found.allowed.intersection(state.topology.onlineCPUs), accepted: found.allowed, noCPU: "",
            managedAdvice: "boot with isolcpus=managed_irq,CPUS to keep it off isolated CPUs (best effort), or set allow_managed: true "
                + "to report it only")
        write.noCPU = "none of the CPUs \(found.allowed.isEmpty ? "none" : found.allowed.listString) the policy allows \(write.label) is "
            + "online: bring one online or change the policy"
        addIRQWrite(finding, write)
    }

    /// `cpus.LIST.reserve.irqs`: one set_knob per IRQ on the reserved CPUs. It keeps the rest of
    /// what it asked for (its requested CPUs minus every reservation that does not allow it and
    /// minus the isolated CPUs, online ones); when nothing is left, the housekeeping CPUs
    /// (online, not isolated, not reserved). An IRQ of no device the audit read is not expected
    /// to be managed: if it is, the kernel refuses the write and apply reports it refused.
    mutating func addReservedIRQ(_ finding: Finding, cpus reserved: IDSet) {
        let index = reservedIRQs ?? ReservedIRQs(policy: policy, state: state)
        reservedIRQs = index
        guard let found = index.failing(finding) else {
            return leave(finding, finding.remediation)
        }
        let topology = state.topology
        let usable = topology.onlineCPUs.subtracting(topology.isolatedCPUs)
        let allReserved = policy.cpuReservations.reduce(IDSet()) { $0.union($1.cpus) }
        let kept = (found.affinity.requested ?? IDSet()).subtracting(found.forbidden).intersection(usable)
        let housekeeping = usable.subtracting(allReserved)
        let allow = found.rule.map { "name device \($0) in the reservation's irqs:" }
            ?? "declare its device under devices: and name it in the reservation's irqs:"
        var write = IRQWrite(
            affinity: found.affinity, managedExpected: found.vector?.managedExpected ?? false, driver: found.device?.driver,
            rule: found.rule, after: kept.isEmpty ? housekeeping : kept, accepted: topology.possibleCPUs.subtracting(found.forbidden),
            noCPU: "", managedAdvice: "boot with isolcpus=managed_irq,\(reserved.listString) to keep it off CPUs \(reserved.listString) "
                + "(best effort), or \(allow) to allow it there")
        write.noCPU = "\(write.label) has no CPU to go to: every online CPU is isolated or reserved"
            + (allReserved.isEmpty ? "" : " (reserved \(allReserved.listString))") + ": leave a housekeeping CPU or change the policy"
        addIRQWrite(finding, write)
    }

    /// Left to the operator, with the reason, when the kernel manages the IRQ, when there is no
    /// online CPU to put it on, when the boot is unknown (an IRQ number means nothing on another
    /// boot), or when an irqbalance would rewrite it. An IRQ another finding already plans gets
    /// this finding's check, its CPUs narrowed to what both accept.
    mutating func addIRQWrite(_ finding: Finding, _ write: IRQWrite) {
        let irq = write.affinity.irq
        if write.managedExpected {
            let driver = write.driver.map { " (driver \(DeviceChecks.untrusted($0)))" } ?? ""
            return leave(finding, "\(write.label) is expected to be managed by the kernel\(driver): its affinity cannot be written from "
                         + "user space, so apply never tries; \(write.managedAdvice)")
        }
        guard !write.after.isEmpty else { return leave(finding, write.noCPU) }
        guard let bootID = state.names.bootID else {
            return leave(finding, "the boot ID could not be read: apply writes an IRQ only on the boot its number was read on")
        }
        let online = state.topology.onlineCPUs
        if let rewriter = irqRewriters.first(where: { $0.rewrites(irq: irq, driver: write.driver) }) {
            let others = online.subtracting(write.after)
            return leave(finding, "irqbalance (PID \(rewriter.pid)) rebalances every 10 s and would rewrite it: add --banirq=\(irq) "
                         + "to IRQBALANCE_ARGS" + (others.isEmpty ? "" : " or ban CPUs \(others.listString)") + ", then re-run apply")
        }
        let knob = Knob.irqAffinity(irq: irq)
        if let index = irqKnobs[irq] {
            return mergeIRQ(finding, write, into: index)
        }
        irqKnobs[irq] = knobs.count
        addKnob(knob, check: finding.check, before: write.affinity.requested?.listString ?? "unknown", after: write.after.listString)
        knobs[knobs.count - 1].irq = IRQTarget(irq: irq, actions: write.affinity.actions, device: write.rule, bootID: bootID)
    }

    /// One IRQ, one write: a device rule and a reservation (or two reservations) failing on the
    /// same IRQ share it, narrowed to the CPUs both accept. None: the policy contradicts itself.
    mutating func mergeIRQ(_ finding: Finding, _ write: IRQWrite, into index: Int) {
        guard !knobs[index].checks.contains(finding.check) else { return }
        let planned = knobs[index].value.flatMap { try? IDListParser.parse($0) } ?? IDSet()
        let narrowed = planned.intersection(write.accepted)
        guard !narrowed.isEmpty else {
            let cpus = "CPU\(planned.count == 1 ? "" : "s") \(planned.listString)"
            return leave(finding, "\(write.label): \(knobs[index].checks.joined(separator: ", ")) puts it on \(cpus), none of which this "
                         + "check accepts: the policy contradicts itself; change it")
        }
        knobs[index].value = narrowed.listString
        knobs[index].after = narrowed.listString
        knobs[index].checks.append(finding.check)
        if knobs[index].irq?.device == nil { knobs[index].irq?.device = write.rule }
    }

    /// The caller's, else the irqbalance daemons the audit read (root's only; read when the
    /// policy has `host.irqbalance`): none known, nothing to avoid.
    var irqRewriters: [IRQRewriter] {
        options.irqRewriters ?? (state.isolation?.irqbalance ?? []).map(IRQRewriter.init(process:))
    }
}
