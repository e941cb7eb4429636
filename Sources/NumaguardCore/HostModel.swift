/// The host as plain values: what later evaluation, snapshots and renderers consume.
/// Nothing here reads files; NumaguardHost fills these from one root path.

/// One pool of huge pages on one node (node*/hugepages/hugepages-<size>kB).
public struct HugePagePool: Equatable, Sendable, Codable {
    public var sizeKiB: Int
    public var total: Int
    public var free: Int
    public var surplus: Int

    public init(sizeKiB: Int, total: Int, free: Int, surplus: Int) {
        self.sizeKiB = sizeKiB
        self.total = total
        self.free = free
        self.surplus = surplus
    }

    enum CodingKeys: String, CodingKey { case sizeKiB = "size_kib", total, free, surplus }
}

public struct NodeInfo: Equatable, Sendable, Codable {
    public var id: Int
    public var cpus: IDSet
    /// Bytes, from node*/meminfo MemTotal and MemFree (what numactl --hardware prints).
    public var memTotal: Int
    public var memFree: Int
    /// Distances to each node of `Topology.nodes`, in that order (node*/distance lists online nodes).
    public var distances: [Int]
    public var hugePages: [HugePagePool]

    public init(id: Int, cpus: IDSet, memTotal: Int, memFree: Int, distances: [Int], hugePages: [HugePagePool]) {
        self.id = id
        self.cpus = cpus
        self.memTotal = memTotal
        self.memFree = memFree
        self.distances = distances
        self.hugePages = hugePages
    }

    enum CodingKeys: String, CodingKey {
        case id, cpus, memTotal = "mem_total_bytes", memFree = "mem_free_bytes", distances, hugePages = "huge_pages"
    }
}

public struct Topology: Equatable, Sendable, Encodable {
    /// False when the kernel has no /sys/devices/system/node (CONFIG_NUMA off or numa=off
    /// on old kernels): the host is then modelled as a single node 0 holding everything.
    public var numaEnabled: Bool
    public var possibleNodes: IDSet
    public var onlineNodes: IDSet
    public var nodesWithCPU: IDSet
    public var nodesWithMemory: IDSet
    /// Online nodes in ascending order.
    public var nodes: [NodeInfo]
    public var possibleCPUs: IDSet
    public var onlineCPUs: IDSet
    /// isolcpus= domain CPUs, empty when none.
    public var isolatedCPUs: IDSet
    public var nohzFullCPUs: IDSet

    public init(
        numaEnabled: Bool, possibleNodes: IDSet, onlineNodes: IDSet, nodesWithCPU: IDSet, nodesWithMemory: IDSet,
        nodes: [NodeInfo], possibleCPUs: IDSet, onlineCPUs: IDSet, isolatedCPUs: IDSet, nohzFullCPUs: IDSet
    ) {
        self.numaEnabled = numaEnabled
        self.possibleNodes = possibleNodes
        self.onlineNodes = onlineNodes
        self.nodesWithCPU = nodesWithCPU
        self.nodesWithMemory = nodesWithMemory
        self.nodes = nodes
        self.possibleCPUs = possibleCPUs
        self.onlineCPUs = onlineCPUs
        self.isolatedCPUs = isolatedCPUs
        self.nohzFullCPUs = nohzFullCPUs
    }

    public func node(_ id: Int) -> NodeInfo? { nodes.first { $0.id == id } }

    /// The node whose cpulist holds `cpu`, nil for an offline or unknown CPU.
    public func node(ofCPU cpu: Int) -> Int? { nodes.first { $0.cpus.contains(cpu) }?.id }

    /// Nodes whose CPUs intersect `cpus`.
    public func nodes(ofCPUs cpus: IDSet) -> IDSet { IDSet(nodes.filter { !$0.cpus.intersection(cpus).isEmpty }.map(\.id)) }

    /// Memory-only nodes (CPU-less, e.g. CXL or HBM expanders).
    public var memoryOnlyNodes: IDSet { nodesWithMemory.subtracting(nodesWithCPU) }
    /// Nodes with CPUs but no memory: every allocation from them is remote.
    public var cpuOnlyNodes: IDSet { nodesWithCPU.subtracting(nodesWithMemory) }

    enum CodingKeys: String, CodingKey {
        case numaEnabled = "numa_enabled", possibleNodes = "possible_nodes", onlineNodes = "online_nodes"
        case nodesWithCPU = "nodes_with_cpus", nodesWithMemory = "nodes_with_memory", nodes
        case possibleCPUs = "possible_cpus", onlineCPUs = "online_cpus", isolatedCPUs = "isolated_cpus"
        case nohzFullCPUs = "nohz_full_cpus", memoryOnlyNodes = "memory_only_nodes", cpuOnlyNodes = "cpu_only_nodes"
    }

    /// Derived sets are written out too, so a JSON consumer does not have to recompute them.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(numaEnabled, forKey: .numaEnabled)
        try container.encode(possibleNodes, forKey: .possibleNodes)
        try container.encode(onlineNodes, forKey: .onlineNodes)
        try container.encode(nodesWithCPU, forKey: .nodesWithCPU)
        try container.encode(nodesWithMemory, forKey: .nodesWithMemory)
        try container.encode(memoryOnlyNodes, forKey: .memoryOnlyNodes)
        try container.encode(cpuOnlyNodes, forKey: .cpuOnlyNodes)
        try container.encode(nodes, forKey: .nodes)
        try container.encode(possibleCPUs, forKey: .possibleCPUs)
        try container.encode(onlineCPUs, forKey: .onlineCPUs)
        try container.encode(isolatedCPUs, forKey: .isolatedCPUs)
        try container.encode(nohzFullCPUs, forKey: .nohzFullCPUs)
    }
}

/// Kernel settings that decide whether placement holds.
public struct KernelState: Equatable, Sendable, Codable {
    public var release: String
    public var commandLine: String
    /// kernel.numa_balancing, a bitmask (1 normal, 2 memory tiering); nil when the sysctl
    /// does not exist (kernels built without CONFIG_NUMA_BALANCING, such as Debian's RT kernel).
    public var numaBalancing: Int?
    public var zoneReclaimMode: Int?
    public var transparentHugepage: String?
    public var transparentHugepageDefrag: String?

    public init(
        release: String, commandLine: String, numaBalancing: Int?, zoneReclaimMode: Int?,
        transparentHugepage: String?, transparentHugepageDefrag: String?
    ) {
        self.release = release
        self.commandLine = commandLine
        self.numaBalancing = numaBalancing
        self.zoneReclaimMode = zoneReclaimMode
        self.transparentHugepage = transparentHugepage
        self.transparentHugepageDefrag = transparentHugepageDefrag
    }

    /// Words of the bitmask, for people: "off", "normal", "tiering", "normal+tiering".
    public static func describeNumaBalancing(_ value: Int?) -> String {
        guard let value else { return "absent" }
        if value == 0 { return "off (0)" }
        var words: [String] = []
        if value & 1 != 0 { words.append("normal") }
        if value & 2 != 0 { words.append("tiering") }
        if value & ~3 != 0 { words.append("unknown bits") }
        return "on: \(words.joined(separator: "+")) (\(value))"
    }

    enum CodingKeys: String, CodingKey {
        case release, commandLine = "cmdline", numaBalancing = "numa_balancing", zoneReclaimMode = "zone_reclaim_mode"
        case transparentHugepage = "transparent_hugepage", transparentHugepageDefrag = "transparent_hugepage_defrag"
    }
}

/// A process identity that survives pid reuse: the kernel never gives the same pid
/// the same start time twice within one boot.
public struct ProcessIdentity: Hashable, Sendable, Codable {
    public var pid: Int
    public var startTime: UInt64

    public init(pid: Int, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    enum CodingKeys: String, CodingKey { case pid, startTime = "start_time_ticks" }
}

public struct ThreadPlacement: Equatable, Sendable, Codable {
    public var tid: Int
    public var comm: String
    public var lastCPU: Int
    public var cpusAllowed: IDSet?

    public init(tid: Int, comm: String, lastCPU: Int, cpusAllowed: IDSet?) {
        self.tid = tid
        self.comm = comm
        self.lastCPU = lastCPU
        self.cpusAllowed = cpusAllowed
    }

    enum CodingKeys: String, CodingKey { case tid, comm, lastCPU = "last_cpu", cpusAllowed = "cpus_allowed" }
}

/// Everything numaguard knows about one process at one moment.
public struct ProcessSnapshot: Equatable, Sendable {
    public var identity: ProcessIdentity
    public var comm: String
    public var exe: String?
    public var cmdline: [String]
    public var uid: Int?
    public var cgroups: [CgroupEntry]
    public var cpusAllowed: IDSet
    public var memsAllowed: IDSet
    public var threads: [ThreadPlacement]
    /// numa_maps summed per node; nil when not requested (reading it holds the target's mmap lock).
    public var memory: MemoryTally?
    /// How long reading numa_maps took on the live host, in seconds: the time the target's
    /// mmap lock was taken and retaken (once per ~4 KiB of output) while the kernel walked its
    /// page tables. nil when not read, or read from a captured or recorded tree.
    public var numaMapsSeconds: Double?
    /// Resident bytes from status VmRSS, used when the kernel has no numa_maps.
    public var residentBytes: Int?
    /// PF_KTHREAD: no user memory, never a workload.
    public var isKernelThread: Bool

    public init(
        identity: ProcessIdentity, comm: String, exe: String?, cmdline: [String], uid: Int?, cgroups: [CgroupEntry],
        cpusAllowed: IDSet, memsAllowed: IDSet, threads: [ThreadPlacement], memory: MemoryTally?, residentBytes: Int?, isKernelThread: Bool = false
    ) {
        self.identity = identity
        self.comm = comm
        self.exe = exe
        self.cmdline = cmdline
        self.uid = uid
        self.cgroups = cgroups
        self.cpusAllowed = cpusAllowed
        self.memsAllowed = memsAllowed
        self.threads = threads
        self.memory = memory
        self.residentBytes = residentBytes
        self.isKernelThread = isKernelThread
    }

    public var pid: Int { identity.pid }
}
