import NumaguardCore
import NumaguardHost

/// What the launcher must know of the host and of itself to check a placement: a handful of
/// small files, read once. Deliberately not `HostFacts`, which reads every node's meminfo,
/// distances and huge pages: the launch path is measured against numactl and must not parse
/// more than it needs.
public struct LaunchHost: Equatable, Sendable {
    public var onlineNodes: IDSet
    public var nodesWithCPU: IDSet
    public var nodesWithMemory: IDSet
    /// Each node with CPUs or memory. An array, not a dictionary: the launch path instantiates
    /// no hashed collection, whose first use makes the Swift runtime scan every protocol
    /// conformance in the binary (measurable against numactl's whole launch).
    public var nodes: [LaunchNode]
    /// The CPUs this process may be bound to: its cgroup cpuset's effective CPUs. The
    /// affinity it inherited (Cpus_allowed_list) is not a limit, since sched_setaffinity may
    /// widen it within the cpuset; it stands in only where the cpuset cannot be read.
    public var cpusAllowed: IDSet
    /// The affinity inherited from the parent (Cpus_allowed_list).
    public var affinity: IDSet
    /// Mems_allowed_list: the cpuset's nodes, which no memory policy can leave.
    public var memsAllowed: IDSet
    /// The cgroup cpuset (v1 or v2), read only when the process is restricted at all.
    public var cpuset: CgroupCpuset?
    public var kernelRelease: String
    /// kernel.numa_balancing; nil where the sysctl does not exist (PREEMPT_RT, !NUMA).
    public var numaBalancing: Int?
    public var isolatedCPUs: IDSet
    /// Where the allowed sets came from, said in a dry run against a captured host.
    public var allowedSource: String
    /// This process's blocked and ignored signals, from the same status read; every signal
    /// when it has no status (a captured host, which is never exec'd from).
    public var signals: SignalState = .unknown
    /// The devices named in node arguments (`-N netdev:eth0`), resolved; read only when one
    /// is named, so a plain launch reads nothing more.
    public var devices: [LaunchDevice] = []

    public func device(_ specifier: DeviceSpecifier) -> LaunchDevice? { devices.first { $0.specifier == specifier } }

    public func node(_ id: Int) -> LaunchNode? { nodes.first { $0.id == id } }

    public func cpus(ofNode id: Int) -> IDSet { node(id)?.cpus ?? IDSet() }

    /// Every CPU of every node.
    public var allCPUs: IDSet { nodes.reduce(IDSet()) { $0.union($1.cpus) } }

    /// The nodes holding any of `cpus`.
    public func nodes(ofCPUs cpus: IDSet) -> IDSet { LaunchNode.holding(cpus, in: nodes) }
}

/// A device named where a node number could stand, and the node the host gave it.
public struct LaunchDevice: Equatable, Sendable {
    public enum Outcome: Equatable, Sendable {
        /// The node, and the device whose `numa_node` gave it ("eth0 (/sys/devices/pci0000:20/0000:20:00.0)").
        case node(Int, device: String)
        /// Why there is none, naming the device and the file, and what to do.
        case refused(String)
    }

    public var specifier: DeviceSpecifier
    public var outcome: Outcome
    /// Set when numactl's rule and the device's own bus device disagree about the node.
    public var warning: String?

    public init(specifier: DeviceSpecifier, outcome: Outcome, warning: String? = nil) {
        self.specifier = specifier
        self.outcome = outcome
        self.warning = warning
    }

    /// Resolves as numactl 2.0.19 does (the first PCI device under the host bridge in the
    /// class link), except `pci:`, which numactl resolves only for a function on a root bus:
    /// numaguard reads any function's own `numa_node` (a deliberate divergence).
    static func resolve(_ specifier: DeviceSpecifier, in root: HostRoot) -> LaunchDevice {
        let rule: DeviceLocality.Rule
        if case .pci = specifier { rule = .endpoint } else { rule = .numactl }
        switch DeviceLocality.locate(specifier, in: root, rule: rule) {
        case let .failure(refusal):
            return LaunchDevice(specifier: specifier, outcome: .refused(refusal.reason))
        case let .success(location):
            var warning: String?
            if rule == .numactl, case let .success(own) = DeviceLocality.locate(specifier, in: root, rule: .endpoint), own.node != location.node {
                warning = "\(specifier): numactl's rule reads node \(location.node) from \(location.device), but the device itself, "
                    + "\(own.device), reports node \(own.node); binding to node \(location.node) as numactl does"
            }
            return LaunchDevice(specifier: specifier, outcome: .node(location.node, device: location.device), warning: warning)
        }
    }
}

public struct LaunchNode: Equatable, Sendable {
    public var id: Int
    /// cpulist; empty for a memory-only node.
    public var cpus: IDSet
    /// MemTotal and MemFree, read only for `--min-free` and policy headroom.
    public var memory: NodeMemory?

    public init(id: Int, cpus: IDSet, memory: NodeMemory? = nil) {
        self.id = id
        self.cpus = cpus
        self.memory = memory
    }

    /// The ids of the nodes holding any of `cpus` (numactl's cpubind/nodebind).
    public static func holding(_ cpus: IDSet, in nodes: [LaunchNode]) -> IDSet {
        IDSet(nodes.filter { !$0.cpus.intersection(cpus).isEmpty }.map(\.id))
    }
}

public struct NodeMemory: Equatable, Sendable {
    public var total: Int
    public var free: Int

    public init(total: Int, free: Int) {
        self.total = total
        self.free = free
    }
}

public enum LaunchHostReader {
    static let nodeDirectory = "sys/devices/system/node"

    /// Reads under `root`. On the live host the allowed sets are this process's own; a
    /// captured host has no "self", so its online CPUs and nodes stand in, and the dry run
    /// says so.
    /// `memory`, `release` and `isolated` say whether node meminfo, the kernel release and the
    /// isolated CPUs are needed: each is a file read the launch path skips when the request
    /// cannot use it (the release matters only for modes newer than some kernels).
    /// `devices` are the device references of the node arguments, resolved under `root`
    /// (each once); none on the common launch, which then reads no device file.
    public static func read(_ root: HostRoot, memory: Bool, release: Bool = true, isolated: Bool = true,
                            devices: [DeviceSpecifier] = []) throws(HostError) -> LaunchHost {
        func set(_ relative: String) throws(HostError) -> IDSet? {
            try root.parseIfPresent(relative) { text throws(ParseError) in try IDListParser.parse(text) }
        }
        var host: LaunchHost
        if let online = try set("\(nodeDirectory)/online") {
            let withCPU = try set("\(nodeDirectory)/has_cpu") ?? online
            var nodes: [LaunchNode] = []
            for node in online {
                let cpus = withCPU.contains(node) ? try set("\(nodeDirectory)/node\(node)/cpulist") ?? IDSet() : IDSet()
                nodes.append(LaunchNode(id: node, cpus: cpus))
            }
            host = LaunchHost(
                onlineNodes: online, nodesWithCPU: withCPU, nodesWithMemory: try set("\(nodeDirectory)/has_memory") ?? online,
                nodes: nodes, cpusAllowed: IDSet(), affinity: IDSet(), memsAllowed: IDSet(), cpuset: nil, kernelRelease: "",
                numaBalancing: nil, isolatedCPUs: IDSet(), allowedSource: ""
            )
        } else {
            // A kernel without NUMA: one node 0 holding every online CPU, as numactl says.
            let cpus = try root.parse("sys/devices/system/cpu/online") { text throws(ParseError) in try IDListParser.parse(text) }
            let zero = IDSet([0])
            host = LaunchHost(
                onlineNodes: zero, nodesWithCPU: zero, nodesWithMemory: zero, nodes: [LaunchNode(id: 0, cpus: cpus)],
                cpusAllowed: IDSet(), affinity: IDSet(), memsAllowed: IDSet(), cpuset: nil, kernelRelease: "",
                numaBalancing: nil, isolatedCPUs: IDSet(), allowedSource: ""
            )
        }
        let allCPUs = host.allCPUs
        if root.isLive || root.exists("proc/self/status") {
            let status = try root.readSmallText("proc/self/status")
            func field(_ key: String) throws(HostError) -> IDSet? {
                guard let value = ProcStatus.value(of: key, in: status) else { return nil }
                do {
                    return try IDListParser.parse(value, what: key)
                } catch {
                    throw .malformed(path: root.absolute("proc/self/status"), error)
                }
            }
            host.affinity = try field("Cpus_allowed_list") ?? allCPUs
            host.memsAllowed = try field("Mems_allowed_list") ?? host.onlineNodes
            host.allowedSource = "this process (/proc/self/status)"
            host.signals = SignalState(status: status)
            // An affinity covering every CPU and every node allowed means no cpuset narrows
            // anything: skip the cgroup reads, which the common unrestricted launch never needs.
            if host.affinity != allCPUs || host.memsAllowed != host.onlineNodes,
               let cgroups = try? root.parse("proc/self/cgroup", CgroupEntry.parse) {
                host.cpuset = CgroupCpuset.read(root, cgroups: cgroups)
            }
            host.cpusAllowed = host.cpuset?.cpus ?? host.affinity
        } else {
            host.cpusAllowed = allCPUs
            host.affinity = allCPUs
            host.memsAllowed = host.onlineNodes
            host.allowedSource = "the captured host's online CPUs and nodes (it has no proc/self)"
        }
        if release { host.kernelRelease = String(Lex.trimmed(try root.readSmallText("proc/sys/kernel/osrelease"))) }
        host.numaBalancing = try root.parseIfPresent("proc/sys/kernel/numa_balancing") { text throws(ParseError) in
            try Lex.number(text, what: "kernel.numa_balancing")
        }
        if isolated { host.isolatedCPUs = try set("sys/devices/system/cpu/isolated") ?? IDSet() }
        for specifier in devices where host.device(specifier) == nil {
            host.devices.append(LaunchDevice.resolve(specifier, in: root))
        }
        if memory {
            for index in host.nodes.indices where host.nodesWithMemory.contains(host.nodes[index].id) {
                let file = root.exists(nodeDirectory) ? "\(nodeDirectory)/node\(host.nodes[index].id)/meminfo" : "proc/meminfo"
                let memory = try root.parse(file, MeminfoParser.totals)
                host.nodes[index].memory = NodeMemory(total: memory.total ?? 0, free: memory.free ?? 0)
            }
        }
        return host
    }
}
