import NumaguardCore

/// Everything on a host that decides where threads run and memory lands, recorded so that
/// two moments (before and after a kernel upgrade, a firmware change, a reboot) can be
/// compared. Only stable facts belong here: free memory, counters and PIDs change by the
/// second and would drown the one change that matters.
public struct Snapshot: Codable, Equatable, Sendable {
    public var toolVersion: String
    /// UTC, ISO 8601; provenance only, never compared.
    public var takenAt: String
    public var host: SnapshotHost
    public var kernel: SnapshotKernel
    public var topology: SnapshotTopology
    public var devices: [SnapshotDevice]
    public var cpusets: [SnapshotCpuset]
    public var actors: SnapshotActors
    /// What exists but could not be read (debugfs without root, say): a later diff must say
    /// it could not compare these rather than call them unchanged.
    public var unreadable: [SnapshotUnreadable]

    public init(toolVersion: String, takenAt: String, host: SnapshotHost, kernel: SnapshotKernel, topology: SnapshotTopology,
                devices: [SnapshotDevice], cpusets: [SnapshotCpuset], actors: SnapshotActors, unreadable: [SnapshotUnreadable]) {
        self.toolVersion = toolVersion
        self.takenAt = takenAt
        self.host = host
        self.kernel = kernel
        self.topology = topology
        self.devices = devices
        self.cpusets = cpusets
        self.actors = actors
        self.unreadable = unreadable
    }

    enum CodingKeys: String, CodingKey {
        case toolVersion = "tool_version", takenAt = "taken_at", host, kernel, topology, devices, cpusets, actors, unreadable
    }
}

/// Which host and boot a snapshot came from: shown by diff, never compared (the boot id
/// changes on every boot by design).
public struct SnapshotHost: Codable, Equatable, Sendable {
    public var hostname: String?
    public var machineID: String?
    public var bootID: String?

    public init(hostname: String?, machineID: String?, bootID: String?) {
        self.hostname = hostname
        self.machineID = machineID
        self.bootID = bootID
    }

    enum CodingKeys: String, CodingKey { case hostname, machineID = "machine_id", bootID = "boot_id" }
}

public struct SnapshotKernel: Codable, Equatable, Sendable {
    public var release: String
    public var cmdline: String
    /// By sysctl name (`kernel.numa_balancing`, `vm.zone_reclaim_mode`), as the kernel prints
    /// them; a sysctl this kernel does not have is absent.
    public var sysctls: [String: String]
    /// debugfs sched/numa_balancing/* (scan periods and sizes, hot threshold) by file name.
    public var numaBalancingDebug: [String: String]
    /// transparent_hugepage settings by file (`enabled`, `defrag`, `shmem_enabled`, `khugepaged/defrag`).
    public var transparentHugepage: [String: String]
    /// /sys/kernel/mm/numa/demotion_enabled (memory tiering), when present.
    public var demotionEnabled: String?
    /// Weighted-interleave weight per node (6.9+), by node id.
    public var weightedInterleave: [String: Int]

    public init(release: String, cmdline: String, sysctls: [String: String], numaBalancingDebug: [String: String],
                transparentHugepage: [String: String], demotionEnabled: String?, weightedInterleave: [String: Int]) {
        self.release = release
        self.cmdline = cmdline
        self.sysctls = sysctls
        self.numaBalancingDebug = numaBalancingDebug
        self.transparentHugepage = transparentHugepage
        self.demotionEnabled = demotionEnabled
        self.weightedInterleave = weightedInterleave
    }

    enum CodingKeys: String, CodingKey {
        case release, cmdline, sysctls, numaBalancingDebug = "numa_balancing_debugfs"
        case transparentHugepage = "transparent_hugepage", demotionEnabled = "demotion_enabled"
        case weightedInterleave = "weighted_interleave"
    }
}

public struct SnapshotTopology: Codable, Equatable, Sendable {
    public var numaEnabled: Bool
    public var possibleNodes: IDSet
    public var onlineNodes: IDSet
    public var nodesWithCPU: IDSet
    public var nodesWithMemory: IDSet
    public var memoryOnlyNodes: IDSet
    public var cpuOnlyNodes: IDSet
    public var possibleCPUs: IDSet
    public var onlineCPUs: IDSet
    public var isolatedCPUs: IDSet
    public var nohzFullCPUs: IDSet
    public var nodes: [SnapshotNode]

    /// The stable part of what TopologyReader reads: no free memory, no free huge pages.
    public init(_ topology: Topology) {
        numaEnabled = topology.numaEnabled
        possibleNodes = topology.possibleNodes
        onlineNodes = topology.onlineNodes
        nodesWithCPU = topology.nodesWithCPU
        nodesWithMemory = topology.nodesWithMemory
        memoryOnlyNodes = topology.memoryOnlyNodes
        cpuOnlyNodes = topology.cpuOnlyNodes
        possibleCPUs = topology.possibleCPUs
        onlineCPUs = topology.onlineCPUs
        isolatedCPUs = topology.isolatedCPUs
        nohzFullCPUs = topology.nohzFullCPUs
        nodes = topology.nodes.map { node in
            SnapshotNode(id: node.id, cpus: node.cpus, memoryBytes: node.memTotal, distances: node.distances,
                         hugePages: node.hugePages.map { SnapshotNode.HugePages(sizeKiB: $0.sizeKiB, count: $0.total) })
        }
    }

    enum CodingKeys: String, CodingKey {
        case numaEnabled = "numa_enabled", possibleNodes = "possible_nodes", onlineNodes = "online_nodes"
        case nodesWithCPU = "nodes_with_cpus", nodesWithMemory = "nodes_with_memory", memoryOnlyNodes = "memory_only_nodes"
        case cpuOnlyNodes = "cpu_only_nodes", possibleCPUs = "possible_cpus", onlineCPUs = "online_cpus"
        case isolatedCPUs = "isolated_cpus", nohzFullCPUs = "nohz_full_cpus", nodes
    }
}

public struct SnapshotNode: Codable, Equatable, Sendable {
    public var id: Int
    public var cpus: IDSet
    /// node*/meminfo MemTotal in bytes.
    public var memoryBytes: Int
    /// To each online node, in node order (node*/distance).
    public var distances: [Int]
    /// Persistent pool sizes (nr_hugepages) per page size; free counts are not stable.
    public var hugePages: [HugePages]

    public struct HugePages: Codable, Equatable, Sendable {
        public var sizeKiB: Int
        public var count: Int

        public init(sizeKiB: Int, count: Int) {
            self.sizeKiB = sizeKiB
            self.count = count
        }

        enum CodingKeys: String, CodingKey { case sizeKiB = "size_kib", count }
    }

    enum CodingKeys: String, CodingKey { case id, cpus, memoryBytes = "memory_bytes", distances, hugePages = "huge_pages" }
}

/// A network interface or NVMe controller backed by a bus device: the node it hangs off
/// and where its interrupts are delivered.
public struct SnapshotDevice: Codable, Equatable, Sendable {
    /// `net` or `nvme` (the /sys/class directory).
    public var kind: String
    public var name: String
    /// The bus address (PCI `0000:3b:00.0`) of the device holding numa_node.
    public var address: String
    /// nil when the firmware gives no locality (numa_node -1).
    public var numaNode: Int?
    /// In IRQ number order, which is vector (queue) order.
    public var irqs: [IRQ]

    public struct IRQ: Codable, Equatable, Sendable {
        public var irq: Int
        /// `msix` or `msi` (msi_irqs/N), `intx` for the legacy line.
        public var mode: String
        /// /proc/irq/N/smp_affinity_list; nil when unreadable.
        public var affinity: IDSet?

        public init(irq: Int, mode: String, affinity: IDSet?) {
            self.irq = irq
            self.mode = mode
            self.affinity = affinity
        }
    }

    public init(kind: String, name: String, address: String, numaNode: Int?, irqs: [IRQ]) {
        self.kind = kind
        self.name = name
        self.address = address
        self.numaNode = numaNode
        self.irqs = irqs
    }

    enum CodingKeys: String, CodingKey { case kind, name, address, numaNode = "numa_node", irqs }
}

/// A cpuset at the top of the hierarchy (the root and its direct children): where
/// slices, partitions and container runtimes fence CPUs and memory nodes.
public struct SnapshotCpuset: Codable, Equatable, Sendable {
    /// `/` or `/system.slice`.
    public var cgroup: String
    /// 1 or 2.
    public var version: Int
    /// By file name without the `cpuset.` prefix (`cpus`, `mems`, `cpus.partition`,
    /// `sched_load_balance`, ...), trimmed as the kernel prints them.
    public var settings: [String: String]

    public init(cgroup: String, version: Int, settings: [String: String]) {
        self.cgroup = cgroup
        self.version = version
        self.settings = settings
    }
}

/// Daemons that move threads, memory or interrupts on their own schedule.
public struct SnapshotActors: Codable, Equatable, Sendable {
    /// The watched actors (`SnapshotActors.watched`) that had a process, sorted.
    public var running: [String]
    /// tuned's active profile, when tuned is running.
    public var tunedProfile: String?

    public static let watched = ["irqbalance", "numad", "tuned"]

    public init(running: [String], tunedProfile: String?) {
        self.running = running
        self.tunedProfile = tunedProfile
    }

    enum CodingKeys: String, CodingKey { case running, tunedProfile = "tuned_profile" }
}

public struct SnapshotUnreadable: Codable, Equatable, Sendable {
    /// The fact id (or id prefix) it would have filled, e.g. `debugfs.numa_balancing`.
    public var id: String
    public var path: String
    public var error: String

    public init(id: String, path: String, error: String) {
        self.id = id
        self.path = path
        self.error = error
    }
}
