import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// The way back from a `cpus.LIST.reserve.irqs` finding to the IRQ it is about, for the
/// planner: as for device vectors, the IRQ is found again in the state the audit judged by the
/// subject the check gave it, never by parsing the text.
public enum ReservedIRQs {
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

    /// The IRQ a failed `cpus.LIST.reserve.irqs` finding is about; nil for any other finding,
    /// or when the IRQ scan holds no IRQ with that subject.
    public static func failing(_ finding: Finding, policy: Policy, state: HostState) -> FailingIRQ? {
        guard case let .cpuReservation(cpus, .irqs) = finding.id, let subject = finding.subject,
              let affinity = state.irqScan?.irqs.first(where: { CPUReservationChecks.irqSubject($0) == subject }),
              policy.cpuReservations.contains(where: { $0.cpus == cpus }) else { return nil }
        let forbidden = policy.cpuReservations.reduce(IDSet()) { forbidden, reservation in
            let allowed = CPUReservationChecks.allowedIRQs(reservation, policy.devices, state.devices.devices)
            return allowed.contains(affinity.irq) ? forbidden : forbidden.union(reservation.cpus)
        }
        let owner = state.devices.devices.lazy.compactMap { device in
            device.irqs.first { $0.irq == affinity.irq }.map { (device, $0) }
        }.first
        let rule = owner.flatMap { owner in policy.devices.first { $0.match.holds(for: owner.0) }?.name }
        return FailingIRQ(affinity: affinity, forbidden: forbidden, device: owner?.0, vector: owner?.1, rule: rule)
    }
}
