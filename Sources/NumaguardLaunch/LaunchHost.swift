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
    /// cpulist of each node with CPUs.
    public var nodeCPUs: [Int: IDSet]
    /// The CPUs this process may be bound to: its cgroup cpuset's effective CPUs. The
    /// affinity it inherited (Cpus_allowed_list) is not a limit, since sched_setaffinity may
    /// widen it within the cpuset; it stands in only where the cpuset cannot be read.
    public var cpusAllowed: IDSet
    /// The affinity inherited from the parent (Cpus_allowed_list).
    public var affinity: IDSet
    /// Mems_allowed_list: the cpuset's nodes, which no memory policy can leave.
    public var memsAllowed: IDSet
    /// The cgroup v2 cpuset, read only when the process is restricted at all.
    public var cpuset: CgroupCpuset?
    public var kernelRelease: String
    /// kernel.numa_balancing; nil where the sysctl does not exist (PREEMPT_RT, !NUMA).
    public var numaBalancing: Int?
    public var isolatedCPUs: IDSet
    /// MemTotal and MemFree of each node with memory, read only for `--min-free`.
    public var nodeMemory: [Int: NodeMemory]
    /// Where the allowed sets came from, said in a dry run against a captured host.
    public var allowedSource: String

    /// The nodes whose CPUs include `cpu`.
    public func node(ofCPU cpu: Int) -> Int? { nodeCPUs.first { $0.value.contains(cpu) }?.key }

    public func nodes(ofCPUs cpus: IDSet) -> IDSet { IDSet(cpus.compactMap { node(ofCPU: $0) }) }
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
    public static func read(_ root: HostRoot, memory: Bool) throws(HostError) -> LaunchHost {
        func set(_ relative: String) throws(HostError) -> IDSet? {
            try root.parseIfPresent(relative) { text throws(ParseError) in try IDListParser.parse(text) }
        }
        var host: LaunchHost
        if let online = try set("\(nodeDirectory)/online") {
            let withCPU = try set("\(nodeDirectory)/has_cpu") ?? online
            var cpus: [Int: IDSet] = [:]
            for node in withCPU {
                cpus[node] = try set("\(nodeDirectory)/node\(node)/cpulist") ?? IDSet()
            }
            host = LaunchHost(
                onlineNodes: online, nodesWithCPU: withCPU, nodesWithMemory: try set("\(nodeDirectory)/has_memory") ?? online,
                nodeCPUs: cpus, cpusAllowed: IDSet(), affinity: IDSet(), memsAllowed: IDSet(), cpuset: nil, kernelRelease: "",
                numaBalancing: nil, isolatedCPUs: IDSet(), nodeMemory: [:], allowedSource: ""
            )
        } else {
            // A kernel without NUMA: one node 0 holding every online CPU, as numactl says.
            let cpus = try set("sys/devices/system/cpu/online") ?? IDSet()
            let zero = IDSet([0])
            host = LaunchHost(
                onlineNodes: zero, nodesWithCPU: zero, nodesWithMemory: zero, nodeCPUs: [0: cpus],
                cpusAllowed: IDSet(), affinity: IDSet(), memsAllowed: IDSet(), cpuset: nil, kernelRelease: "",
                numaBalancing: nil, isolatedCPUs: IDSet(), nodeMemory: [:], allowedSource: ""
            )
        }
        let allCPUs = host.nodeCPUs.values.reduce(IDSet()) { $0.union($1) }
        if root.isLive || root.exists("proc/self/status") {
            let status = try root.parse("proc/self/status") { text throws(ParseError) in ProcStatus.parse(text) }
            do {
                host.affinity = try status.cpusAllowed ?? allCPUs
                host.memsAllowed = try status.memsAllowed ?? host.onlineNodes
            } catch {
                throw .malformed(path: root.absolute("proc/self/status"), error)
            }
            host.allowedSource = "this process (/proc/self/status)"
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
        host.kernelRelease = String(Lex.trimmed(try root.readSmallText("proc/sys/kernel/osrelease")))
        host.numaBalancing = try root.parseIfPresent("proc/sys/kernel/numa_balancing") { text throws(ParseError) in
            try Lex.number(text, what: "kernel.numa_balancing")
        }
        host.isolatedCPUs = try set("sys/devices/system/cpu/isolated") ?? IDSet()
        if memory {
            for node in host.nodesWithMemory {
                let file = root.exists(nodeDirectory) ? "\(nodeDirectory)/node\(node)/meminfo" : "proc/meminfo"
                let meminfo = try root.parse(file, MeminfoParser.parse)
                host.nodeMemory[node] = NodeMemory(total: meminfo["MemTotal"] ?? 0, free: meminfo["MemFree"] ?? 0)
            }
        }
        return host
    }
}
