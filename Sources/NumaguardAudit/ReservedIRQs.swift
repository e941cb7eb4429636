import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// The way back from a `cpus.LIST.reserve.irqs` finding to the IRQ it is about, for the
/// planner: as for device vectors, the IRQ is found again in the state the audit judged by the
/// subject the check gave it, never by parsing the text. Indexed once, so a host whose every
/// IRQ touches the reserved CPUs (the default affinity is all CPUs) is planned in linear time.
public struct ReservedIRQs: Sendable {
    public struct FailingIRQ: Sendable {
        public var affinity: IRQAffinity
        /// The CPUs no write may put it on: those of every CPU reservation that does not name
        /// its device in `irqs:` (not only the finding's, so it is not moved onto another one).
        public var forbidden: IDSet
        /// The device it belongs to, when the audit read the devices (the policy has
        /// `devices:`) and one holds this IRQ: whether the kernel is expected to manage it.
        public var device: HostDevice?
        public var vector: DeviceIRQ?
        /// The policy's device rule that matches that device, for the operator.
        public var rule: String?
    }

    let bySubject: [String: IRQAffinity]
    /// Per CPU reservation, the IRQs its `irqs:` devices allow on its CPUs.
    let allowed: [(cpus: IDSet, irqs: Set<Int>)]
    let owners: [Int: (device: HostDevice, vector: DeviceIRQ, rule: String?)]

    public init(policy: Policy, state: HostState) {
        let irqs = state.irqScan?.irqs ?? []
        bySubject = Dictionary(irqs.map { (CPUReservationChecks.irqSubject($0), $0) }, uniquingKeysWith: { first, _ in first })
        allowed = policy.cpuReservations.map { reservation in
            (reservation.cpus, CPUReservationChecks.allowedIRQs(reservation, policy.devices, state.devices.devices))
        }
        var owners: [Int: (device: HostDevice, vector: DeviceIRQ, rule: String?)] = [:]
        for device in state.devices.devices {
            let rule = policy.devices.first { $0.match.holds(for: device) }?.name
            for vector in device.irqs where owners[vector.irq] == nil { owners[vector.irq] = (device, vector, rule) }
        }
        self.owners = owners
    }

    /// The IRQ a failed `cpus.LIST.reserve.irqs` finding is about; nil for any other finding,
    /// or when the IRQ scan holds no IRQ with that subject.
    public func failing(_ finding: Finding) -> FailingIRQ? {
        guard case let .cpuReservation(cpus, .irqs) = finding.id, let subject = finding.subject,
              let affinity = bySubject[subject], allowed.contains(where: { $0.cpus == cpus }) else { return nil }
        let forbidden = allowed.reduce(IDSet()) { $1.irqs.contains(affinity.irq) ? $0 : $0.union($1.cpus) }
        let owner = owners[affinity.irq]
        return FailingIRQ(affinity: affinity, forbidden: forbidden, device: owner?.device, vector: owner?.vector, rule: owner?.rule)
    }
}
