import NumaguardCore
import NumaguardHost
import NumaguardPolicy

/// The step between reading and judging: workloads' device references become node numbers
/// (`HostState.deviceNodes`, resolved by the reader with the endpoint rule, the one `run
/// --policy` uses too). Each reference is one `workload.NAME.device` finding; a workload with
/// one that does not resolve has its cpus and memory checks skipped, never judged against an
/// empty set.
public enum DeviceResolution {
    public struct Resolved: Sendable {
        /// The policy with every reference replaced by its node, and unresolved workloads
        /// without placement: what the checks judge and the planner plans from.
        public var policy: Policy
        /// `workload.NAME.device` findings by workload name.
        public var findings: [String: [Finding]]
    }

    /// What a reference the reader did not resolve means: nothing was read for it (a state
    /// built without the policy that names it). Incomplete, never "no such device".
    public enum Unresolved: Error {
        case refused(DeviceRefusal)
        case notRead
    }

    public static func resolve(_ policy: Policy, _ nodes: [DeviceSpecifier: Result<Int, DeviceRefusal>]) -> Resolved {
        var resolved = policy
        var findings: [String: [Finding]] = [:]
        for (index, workload) in policy.workloads.enumerated() where !workload.deviceReferences.isEmpty {
            let name = workload.name
            let result = workload.resolvingDevices { device -> Result<Int, Unresolved> in
                nodes[device].map { $0.mapError { Unresolved.refused($0) } } ?? .failure(.notRead)
            }
            switch result {
            case let .success(placed):
                resolved.workloads[index] = placed
                findings[name] = workload.deviceReferences.compactMap { device in
                    guard case let .success(node)? = nodes[device] else { return nil }
                    return .pass(.workload(name, .deviceReference), .critical, subject: device.description,
                                 expected: "\(device) names a device attached to a node", actual: "node \(node)")
                }
            case let .failure(failures):
                resolved.workloads[index] = workload.withoutPlacement
                findings[name] = failures.failures.map { finding(name, $0) }
            }
        }
        return Resolved(policy: resolved, findings: findings)
    }

    static func finding(_ workload: String, _ failure: Workload.DeviceResolutionFailure<Unresolved>) -> Finding {
        let skipped = "; workload \(workload)'s cpus and memory are not judged"
        switch failure {
        case let .refused(device, .refused(refusal)):
            let remediation: String
            switch refusal {
            case .unknown: remediation = "check the name (numaguard snapshot lists the devices it sees), or change the policy"
            case .noLocality: remediation = "enable NUMA/SRAT/_PXM reporting in the BIOS, or name the node by number"
            case .virtual: remediation = "name the device it runs over (the physical NIC or disk) instead"
            case .unreadable: remediation = "run numaguard as root; see the error"
            case .notHere: remediation = "name the device with netdev:, pci: or block:"
            }
            return Finding(check: .workload(workload, .deviceReference), severity: .critical,
                           outcome: refusal.isUnreadable ? .incomplete : .fail, subject: device.description,
                           expected: "\(device) names a device attached to a node",
                           actual: DeviceChecks.untrusted("\(refusal.specifier): \(refusal.fact)", limit: 1024) + skipped, remediation: remediation)
        case let .refused(device, .notRead):
            return Finding(check: .workload(workload, .deviceReference), severity: .critical, outcome: .incomplete, subject: device.description,
                           expected: "\(device) names a device attached to a node", actual: "its device links were not read" + skipped,
                           remediation: "audit with the policy that names it")
        case let .preferredSpread(nodes, devices):
            return Finding(check: .workload(workload, .deviceReference), severity: .critical, outcome: .fail,
                           subject: devices.map(\.description).joined(separator: ", "),
                           expected: "memory policy preferred resolves to one node",
                           actual: "nodes \(nodes.listString) once \(devices.map(\.description).joined(separator: ", ")) resolved" + skipped,
                           remediation: "use preferred-many, or name a single node or device")
        }
    }
}

extension HostStateReader {
    /// Devices only for a policy with `devices:` rules, device links only for its references:
    /// a policy with neither reads nothing more than before.
    static func readDevices(_ policy: Policy, root: HostRoot, into state: inout HostState) {
        if !policy.devices.isEmpty {
            state.devices = DeviceLocality.read(root)
            for problem in state.devices.problems {
                let rule = blamed(problem.subject, policy.devices)
                let subject = DeviceChecks.untrusted(problem.subject)
                state.problems.unreadable("\(subject): \(problem.error)", check: .device(rule, .read), subject: subject,
                                          actual: problem.error.description, remediation: "run numaguard as root; see the error")
            }
        }
        state.deviceNodes = deviceNodes(policy, root: root)
    }

    /// The node of each device the policy's workloads name, by the endpoint rule (the one `run
    /// --policy` uses); nothing is read for a policy without references.
    public static func deviceNodes(_ policy: Policy, root: HostRoot) -> [DeviceSpecifier: Result<Int, DeviceRefusal>] {
        var nodes: [DeviceSpecifier: Result<Int, DeviceRefusal>] = [:]
        for device in policy.workloads.flatMap(\.deviceReferences) where nodes[device] == nil {
            nodes[device] = DeviceLocality.resolve(device, in: root, rule: .endpoint)
        }
        return nodes
    }

    /// The rule an unreadable device is counted against (one incomplete finding per item): the
    /// rule naming it, else the first that matches by driver or class (it may be one of
    /// theirs), else the first rule.
    static func blamed(_ subject: String, _ rules: [DeviceRule]) -> String {
        let named = rules.first { rule in
            [rule.match.interface, rule.match.block, rule.match.pci?.description].contains(subject)
        }
        let broad = rules.first { $0.match.interface == nil && $0.match.block == nil && $0.match.pci == nil }
        return (named ?? broad ?? rules.first)?.name ?? "?"
    }
}
