import NumaguardCore

/// Turning a workload's device references (`cpus: {nodes: ["netdev:ens1f0"]}`) into node
/// numbers, the step between reading a host and judging it. One function for the audit and
/// for `run --policy`, given each its resolver, so the two cannot disagree about which node a
/// reference means. A workload that does not resolve keeps no placement at all: its CPU and
/// memory rules are never judged against an empty set ("allowed nothing").
extension Workload {
    /// Every device its node lists name, each once, CPUs' first.
    public var deviceReferences: [DeviceSpecifier] {
        var seen: Set<DeviceSpecifier> = []
        return (cpuNodeDevices + (memory?.nodeDevices ?? [])).filter { seen.insert($0).inserted }
    }

    /// Why a workload's references give no placement.
    public enum DeviceResolutionFailure<Refusal: Error>: Error {
        /// A reference gives no node; the resolver's reason.
        case refused(DeviceSpecifier, Refusal)
        /// `preferred` takes one node, and its list gives several once resolved.
        case preferredSpread(nodes: IDSet, devices: [DeviceSpecifier])
    }

    /// The workload with each reference's node added to the list that named it, and the
    /// references gone; or every reason it cannot be placed (each refused reference once).
    public func resolvingDevices<Refusal: Error>(
        _ node: (DeviceSpecifier) -> Result<Int, Refusal>
    ) -> Result<Workload, DeviceResolutionFailures<Refusal>> {
        var nodes: [DeviceSpecifier: Int] = [:]
        var failures: [DeviceResolutionFailure<Refusal>] = []
        for device in deviceReferences {
            switch node(device) {
            case let .success(id): nodes[device] = id
            case let .failure(refusal): failures.append(.refused(device, refusal))
            }
        }
        guard failures.isEmpty else { return .failure(DeviceResolutionFailures(failures: failures)) }
        var resolved = self
        if case let .nodes(ids)? = cpus, !cpuNodeDevices.isEmpty {
            resolved.cpus = .nodes(ids.union(IDSet(cpuNodeDevices.compactMap { nodes[$0] })))
        }
        resolved.cpuNodeDevices = []
        if var memory, !memory.nodeDevices.isEmpty {
            memory.nodes = memory.nodes.union(IDSet(memory.nodeDevices.compactMap { nodes[$0] }))
            if memory.mode == .preferred, memory.nodes.count > 1 {
                return .failure(DeviceResolutionFailures(failures: [.preferredSpread(nodes: memory.nodes, devices: memory.nodeDevices)]))
            }
            memory.nodeDevices = []
            resolved.memory = memory
        }
        return .success(resolved)
    }

    /// This workload with no CPU or memory rules: what is judged of a workload whose device
    /// references did not resolve (its running count and claims still are).
    public var withoutPlacement: Workload {
        var stripped = self
        stripped.cpus = nil
        stripped.memory = nil
        stripped.cpuNodeDevices = []
        return stripped
    }
}

/// The reasons one workload cannot be placed (a typed error for `Result`).
public struct DeviceResolutionFailures<Refusal: Error>: Error {
    public var failures: [Workload.DeviceResolutionFailure<Refusal>]
}

extension Policy {
    /// Whether any workload names a device (the host then has device links to read).
    public var hasDeviceReferences: Bool { workloads.contains { !$0.deviceReferences.isEmpty } }
}
