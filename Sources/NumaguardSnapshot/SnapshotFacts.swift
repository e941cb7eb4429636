import NumaguardCore

/// What a change means, for grouping a diff: a team reads "topology" and "device
/// locality" as hardware or firmware news, "kernel knobs" and "boot arguments" as
/// configuration, "placement actors" as daemons that move things behind their back.
public enum DriftGroup: String, Codable, CaseIterable, Sendable {
    case topology, kernel, boot, devices, cpusets, actors

    public var title: String {
        switch self {
        case .topology: "topology"
        case .kernel: "kernel knobs"
        case .boot: "boot arguments"
        case .devices: "device locality"
        case .cpusets: "cgroup cpusets"
        case .actors: "placement actors"
        }
    }
}

/// One comparable fact of a snapshot, under a stable dotted id (`kernel.numa_balancing`,
/// `topology.node.1.cpus`, `boot.isolcpus`, `device.net.eth0.numa_node`). Ids key the
/// audit's drift findings (`drift.<id>`), so they never change meaning.
public struct Fact: Equatable, Sendable {
    public var id: String
    public var group: DriftGroup
    /// For people, in the kernel's own spelling where it has one.
    public var value: String
    /// Set for node memory, compared with `SnapshotComparison.memoryTolerance`.
    public var bytes: Int?
    /// False for boot arguments that do not touch placement (console=, root=, quiet):
    /// their changes are shown but not counted.
    public var relevant: Bool

    init(_ id: String, _ group: DriftGroup, _ value: String, bytes: Int? = nil, relevant: Bool = true) {
        self.id = id
        self.group = group
        self.value = value
        self.bytes = bytes
        self.relevant = relevant
    }
}

extension Snapshot {
    /// Kernel parameters that decide where threads run and memory lands (README lists them).
    public static let placementBootParameters: Set<String> = [
        "acpi", "cgroup_disable", "cgroup_enable", "cgroup_no_v1", "cma", "default_hugepagesz", "efi", "hugepages",
        "hugepagesz", "hugetlb_cma", "irqaffinity", "isolcpus", "kernelcore", "maxcpus", "mem", "memhp_default_state",
        "memmap", "movable_node", "movablecore", "nohz", "nohz_full", "nosmt", "nr_cpus", "numa", "numa_balancing",
        "numa_zonelist_order", "possible_cpus", "rcu_nocb_poll", "rcu_nocbs", "systemd.unified_cgroup_hierarchy",
        "transparent_hugepage", "transparent_hugepage_shmem", "workqueue.unbound_cpus",
    ]

    /// Everything a diff compares, in a stable order (group, then as read).
    public var facts: [Fact] {
        topologyFacts + kernelFacts + bootFacts + deviceFacts + cpusetFacts + actorFacts
    }

    var topologyFacts: [Fact] {
        let topology = self.topology
        func set(_ id: String, _ value: IDSet) -> Fact { Fact("topology.\(id)", .topology, value.listString.orNone) }
        var facts = [
            Fact("topology.numa", .topology, topology.numaEnabled ? "enabled" : "disabled (no /sys/devices/system/node)"),
            set("nodes.possible", topology.possibleNodes), set("nodes.online", topology.onlineNodes),
            set("nodes.with_cpus", topology.nodesWithCPU), set("nodes.with_memory", topology.nodesWithMemory),
            set("nodes.memory_only", topology.memoryOnlyNodes), set("nodes.cpu_only", topology.cpuOnlyNodes),
            set("cpus.possible", topology.possibleCPUs), set("cpus.online", topology.onlineCPUs),
            set("cpus.isolated", topology.isolatedCPUs), set("cpus.nohz_full", topology.nohzFullCPUs),
        ]
        for node in topology.nodes {
            let prefix = "topology.node.\(node.id)"
            facts.append(Fact("\(prefix).cpus", .topology, node.cpus.listString.orNone))
            facts.append(Fact("\(prefix).memory", .topology, "\(node.memoryBytes / 1024) kB", bytes: node.memoryBytes))
            facts.append(Fact("\(prefix).distances", .topology, node.distances.map(String.init).joined(separator: " ")))
        }
        return facts
    }

    var kernelFacts: [Fact] {
        var facts = [Fact("kernel.release", .kernel, kernel.release)]
        for (name, value) in kernel.sysctls.sorted(by: { $0.key < $1.key }) {
            let shown = name == "kernel.numa_balancing" ? KernelState.describeNumaBalancing(Int(value)) : value
            facts.append(Fact(name, .kernel, shown))
        }
        for (name, value) in kernel.numaBalancingDebug.sorted(by: { $0.key < $1.key }) {
            facts.append(Fact("debugfs.numa_balancing.\(name)", .kernel, value))
        }
        for (name, value) in kernel.transparentHugepage.sorted(by: { $0.key < $1.key }) {
            facts.append(Fact("thp.\(name.replacingSlashes)", .kernel, value))
        }
        if let demotion = kernel.demotionEnabled { facts.append(Fact("mm.numa.demotion_enabled", .kernel, demotion)) }
        for (node, weight) in kernel.weightedInterleave.sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
            facts.append(Fact("weighted_interleave.node.\(node)", .kernel, "\(weight)"))
        }
        // An empty pool is no pool: a node that appears with empty pools is not news twice.
        for node in topology.nodes {
            for pool in node.hugePages where pool.count > 0 {
                facts.append(Fact("hugepages.node.\(node.id).\(pool.sizeKiB)kB", .kernel, "\(pool.count)"))
            }
        }
        return facts
    }

    /// One fact per parameter name, every occurrence in order (`hugepagesz=2M hugepagesz=1G`);
    /// what follows `--` goes to init and is one fact, never counted.
    var bootFacts: [Fact] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        var forInit: [String] = []
        for word in BootArguments.words(kernel.cmdline) {
            if word.isForInit {
                forInit.append(word.text)
                continue
            }
            if values[word.key] == nil { order.append(word.key) }
            values[word.key, default: []].append(word.text)
        }
        var facts = order.map { key in
            Fact("boot.\(key)", .boot, (values[key] ?? []).joined(separator: " "),
                 relevant: Self.placementBootParameters.contains(key))
        }
        if !forInit.isEmpty { facts.append(Fact("boot.init_arguments", .boot, forInit.joined(separator: " "), relevant: false)) }
        return facts
    }

    var deviceFacts: [Fact] {
        devices.flatMap { device in
            let prefix = "device.\(device.kind).\(device.name)"
            let affinities = device.irqs.map { $0.affinity.map { $0.listString.orNone } ?? "unreadable" }
            return [
                Fact("\(prefix).numa_node", .devices, device.numaNode.map(String.init) ?? "none (-1)"),
                Fact("\(prefix).address", .devices, device.address),
                // IRQ numbers are handed out at boot; the affinity of each vector, in order, is the fact.
                Fact("\(prefix).irqs", .devices, affinities.isEmpty ? "none" : affinities.joined(separator: " ")),
            ]
        }
    }

    var cpusetFacts: [Fact] {
        cpusets.flatMap { cpuset in
            cpuset.settings.sorted(by: { $0.key < $1.key }).map { name, value in
                Fact("cpuset.\(CpusetReader.name(cpuset.cgroup)).\(name)", .cpusets, value.isEmpty ? "empty (inherits)" : value)
            }
        }
    }

    var actorFacts: [Fact] {
        var facts = SnapshotActors.watched.map { name in
            Fact("actor.\(name)", .actors, actors.running.contains(name) ? "running" : "not running")
        }
        if let profile = actors.tunedProfile { facts.append(Fact("actor.tuned.profile", .actors, profile)) }
        return facts
    }
}

extension String {
    var orNone: String { isEmpty ? "none" : self }
    var replacingSlashes: String { String(map { $0 == "/" ? "." : $0 }) }
}
