import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// The way back from a vector's finding to the vector: the planner writes an IRQ's affinity,
/// and a finding names its vector only in text (IRQ numbers never appear in a check ID, they
/// change from boot to boot). So the vector is found again in the state the audit judged, by
/// the same subject the check gave it, never by parsing the text.
extension DeviceChecks {
    public struct FailingVector: Sendable {
        public var rule: DeviceRule
        /// The device as the checks named it (a class device over its bare PCI function).
        public var device: HostDevice
        public var vector: DeviceIRQ
        /// The CPUs the rule's `irqs:` allows on this host (online or not).
        public var allowed: IDSet
    }

    /// The vector a failed `device.NAME.irqs.effective` or `irqs.requested` finding is about;
    /// nil for any other finding, or when the state holds no vector with that subject.
    public static func vector(of finding: Finding, policy: Policy, state: HostState) -> FailingVector? {
        guard case let .device(name, check) = finding.id, check == .irqsEffective || check == .irqsRequested,
              let subject = finding.subject, let rule = policy.devices.first(where: { $0.name == name }),
              let placement = rule.irqs else { return nil }
        for matched in matched(rule.match, state.devices.devices) {
            for vector in matched.irqs where "\(matched.subject) \(vectorName(vector))" == subject {
                return FailingVector(rule: rule, device: matched.device, vector: vector,
                                     allowed: allowedCPUs(placement, topology: state.topology))
            }
        }
        return nil
    }

    /// `irqs: {cpus: …}` as given, `irqs: {nodes: […]}` as those nodes' CPUs.
    static func allowedCPUs(_ placement: IRQPlacement, topology: Topology) -> IDSet {
        switch placement.target {
        case let .cpus(cpus): cpus
        case let .nodes(nodes): topology.nodes.filter { nodes.contains($0.id) }.reduce(IDSet()) { $0.union($1.cpus) }
        }
    }
}
