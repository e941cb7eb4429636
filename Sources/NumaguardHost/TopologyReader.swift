import NumaguardCore

/// Reads node and CPU topology from sysfs under a root.
public enum TopologyReader {
    static let nodeDirectory = "sys/devices/system/node"
    static let cpuDirectory = "sys/devices/system/cpu"

    public static func read(_ root: HostRoot) throws(HostError) -> Topology {
        let possibleCPUs = try root.parse("\(cpuDirectory)/possible") { text throws(ParseError) in try IDListParser.parse(text) }
        let onlineCPUs = try root.parse("\(cpuDirectory)/online") { text throws(ParseError) in try IDListParser.parse(text) }
        let isolated = try root.parseIfPresent("\(cpuDirectory)/isolated") { text throws(ParseError) in try IDListParser.parse(text) }
        let nohzFull = try root.parseIfPresent("\(cpuDirectory)/nohz_full") { text throws(ParseError) in
            // Without nohz_full= the kernel prints "(null)" on some releases.
            Lex.trimmed(text) == "(null)" ? IDSet() : try IDListParser.parse(text)
        }
        guard root.exists(nodeDirectory) else {
            return try singleNode(root, possibleCPUs: possibleCPUs, onlineCPUs: onlineCPUs,
                                  isolated: isolated ?? IDSet(), nohzFull: nohzFull ?? IDSet())
        }
        func nodeSet(_ name: String) throws(HostError) -> IDSet? {
            try root.parseIfPresent("\(nodeDirectory)/\(name)") { text throws(ParseError) in try IDListParser.parse(text) }
        }
        guard let online = try nodeSet("online") else {
            throw .unreadable(path: root.absolute("\(nodeDirectory)/online"), errno: .noEntry)
        }
        let nodes = try online.map { id throws(HostError) in try readNode(root, id) }
        let derivedWithCPU = IDSet(nodes.filter { !$0.cpus.isEmpty }.map(\.id))
        let derivedWithMemory = IDSet(nodes.filter { $0.memTotal > 0 }.map(\.id))
        return Topology(
            numaEnabled: true,
            possibleNodes: try nodeSet("possible") ?? online,
            onlineNodes: online,
            nodesWithCPU: try nodeSet("has_cpu") ?? derivedWithCPU,
            nodesWithMemory: try nodeSet("has_memory") ?? derivedWithMemory,
            nodes: nodes,
            possibleCPUs: possibleCPUs,
            onlineCPUs: onlineCPUs,
            isolatedCPUs: isolated ?? IDSet(),
            nohzFullCPUs: nohzFull ?? IDSet()
        )
    }

    static func readNode(_ root: HostRoot, _ id: Int) throws(HostError) -> NodeInfo {
        let base = "\(nodeDirectory)/node\(id)"
        let cpus = try root.parse("\(base)/cpulist") { text throws(ParseError) in try IDListParser.parse(text) }
        let memory = try root.parse("\(base)/meminfo", MeminfoParser.totals)
        let distances = try root.parse("\(base)/distance", DistanceParser.parse)
        let hugePages = try readHugePages(root, "\(base)/hugepages")
        return NodeInfo(
            id: id, cpus: cpus, memTotal: memory.total ?? 0, memFree: memory.free ?? 0,
            distances: distances, hugePages: hugePages
        )
    }

    /// Pools under `directory` (hugepages-<size>kB), smallest page size first.
    static func readHugePages(_ root: HostRoot, _ directory: String) throws(HostError) -> [HugePagePool] {
        guard root.exists(directory) else { return [] }
        var pools: [HugePagePool] = []
        for name in try root.list(directory) where name.hasPrefix("hugepages-") && name.hasSuffix("kB") {
            guard let size = Lex.decimal(name.dropFirst("hugepages-".count).dropLast(2)) else { continue }
            func count(_ file: String) throws(HostError) -> Int {
                try root.parse("\(directory)/\(name)/\(file)") { text throws(ParseError) in try Lex.number(text, what: file) }
            }
            pools.append(HugePagePool(sizeKiB: size, total: try count("nr_hugepages"),
                                      free: try count("free_hugepages"), surplus: try count("surplus_hugepages")))
        }
        return pools.sorted { $0.sizeKiB < $1.sizeKiB }
    }

    /// A kernel without NUMA support still has memory and CPUs: call them node 0, as
    /// numactl does, and say so through `numaEnabled == false`.
    static func singleNode(
        _ root: HostRoot, possibleCPUs: IDSet, onlineCPUs: IDSet, isolated: IDSet, nohzFull: IDSet
    ) throws(HostError) -> Topology {
        let memory = try root.parse("proc/meminfo", MeminfoParser.totals)
        let hugePages = try readHugePages(root, "sys/kernel/mm/hugepages")
        let node = NodeInfo(
            id: 0, cpus: onlineCPUs, memTotal: memory.total ?? 0, memFree: memory.free ?? 0,
            distances: [10], hugePages: hugePages
        )
        let zero = IDSet([0])
        return Topology(
            numaEnabled: false, possibleNodes: zero, onlineNodes: zero, nodesWithCPU: zero, nodesWithMemory: zero,
            nodes: [node], possibleCPUs: possibleCPUs, onlineCPUs: onlineCPUs, isolatedCPUs: isolated, nohzFullCPUs: nohzFull
        )
    }
}

/// Reads the kernel settings that decide whether placement holds.
public enum KernelReader {
    public static func read(_ root: HostRoot) throws(HostError) -> KernelState {
        func number(_ relative: String) throws(HostError) -> Int? {
            try root.parseIfPresent(relative) { text throws(ParseError) in try Lex.number(text, what: "sysctl value") }
        }
        let thp = "sys/kernel/mm/transparent_hugepage"
        return KernelState(
            release: String(Lex.trimmed(try root.readText("proc/sys/kernel/osrelease"))),
            commandLine: String(Lex.trimmed(try root.readText("proc/cmdline"))),
            numaBalancing: try number("proc/sys/kernel/numa_balancing"),
            zoneReclaimMode: try number("proc/sys/vm/zone_reclaim_mode"),
            transparentHugepage: try root.parseIfPresent("\(thp)/enabled", BracketChoiceParser.parse),
            transparentHugepageDefrag: try root.parseIfPresent("\(thp)/defrag", BracketChoiceParser.parse)
        )
    }
}

/// The node topology and kernel settings together: what every host-level command reads first.
public struct HostFacts: Sendable {
    public var topology: Topology
    public var kernel: KernelState

    public static func read(_ root: HostRoot) throws(HostError) -> HostFacts {
        HostFacts(topology: try TopologyReader.read(root), kernel: try KernelReader.read(root))
    }
}

/// Who a host is (hostname, machine-id, boot id): provenance for reports, certificates and
/// snapshots. Absent or unreadable names are nil: identity never stops a read of the host.
public struct HostNames: Equatable, Sendable {
    public var hostname: String?
    public var machineID: String?
    public var bootID: String?

    public init(hostname: String?, machineID: String?, bootID: String?) {
        self.hostname = hostname
        self.machineID = machineID
        self.bootID = bootID
    }

    public static func read(_ root: HostRoot) -> HostNames {
        func value(_ relative: String) -> String? {
            guard let text = try? root.readText(relative) else { return nil }
            let trimmed = String(Lex.trimmed(text))
            return trimmed.isEmpty ? nil : trimmed
        }
        return HostNames(hostname: value("proc/sys/kernel/hostname"), machineID: value("etc/machine-id"),
                         bootID: value("proc/sys/kernel/random/boot_id"))
    }
}
