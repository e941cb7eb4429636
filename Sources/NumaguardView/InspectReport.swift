import NumaguardCore

/// Where one process runs and where its memory is, in numastat -p's categories and in
/// the split that matters for policy: anonymous memory follows the process's policy,
/// page-cache pages of shared files do not.
public struct InspectReport: Equatable, Sendable, Encodable {
    public struct ProcessInfo: Equatable, Sendable, Encodable {
        public var pid: Int
        public var startTime: UInt64
        public var comm: String
        public var exe: String?
        public var cmdline: [String]
        public var uid: Int?
        public var cgroup: String?

        enum CodingKeys: String, CodingKey { case pid, startTime = "start_time_ticks", comm, exe, cmdline, uid, cgroup }
    }

    public struct ThreadRow: Equatable, Sendable, Encodable {
        public var tid: Int
        public var comm: String
        public var lastCPU: Int
        public var node: Int?
        public var cpusAllowed: IDSet?

        enum CodingKeys: String, CodingKey { case tid, comm, lastCPU = "last_cpu", node, cpusAllowed = "cpus_allowed" }
    }

    /// numastat -p's rows. Huge uses each mapping's own page size (numastat assumes the
    /// default huge page size; they agree unless 1 GiB pages are in use).
    public struct NumastatCategories: Equatable, Sendable, Encodable {
        public var huge: PerNode
        public var heap: PerNode
        public var stack: PerNode
        public var `private`: PerNode
        public var total: PerNode
    }

    /// Anonymous: follows the memory policy. File: page cache, placed by whoever faulted it first.
    /// Mixed: file mappings holding both private copies and page-cache pages; numa_maps gives
    /// their per-node counts but not the split, so they are reported apart rather than guessed.
    public struct Backing: Equatable, Sendable, Encodable {
        public var anonymous: PerNode
        public var file: PerNode
        public var mixed: PerNode
    }

    public struct PolicyRow: Equatable, Sendable, Encodable {
        public var policy: MemoryPolicy
        public var mappings: Int
        public var bytes: PerNode
    }

    public var process: ProcessInfo
    public var cpusAllowed: IDSet
    public var cpusAllowedNodes: IDSet
    public var memsAllowed: IDSet
    public var threads: [ThreadRow]
    public var memory: NumastatCategories?
    public var backing: Backing?
    public var policies: [PolicyRow]
    public var verdict: String
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case process, cpusAllowed = "cpus_allowed", cpusAllowedNodes = "cpus_allowed_nodes"
        case memsAllowed = "mems_allowed", threads, memory = "numastat", backing, policies, verdict, notes
    }

    public init(snapshot: ProcessSnapshot, topology: Topology) {
        let nodeIDs = topology.nodes.map(\.id)
        process = ProcessInfo(
            pid: snapshot.pid, startTime: snapshot.identity.startTime, comm: snapshot.comm, exe: snapshot.exe,
            cmdline: snapshot.cmdline, uid: snapshot.uid,
            cgroup: snapshot.cgroups.first { $0.hierarchy == 0 }?.path ?? snapshot.cgroups.first?.path
        )
        cpusAllowed = snapshot.cpusAllowed
        cpusAllowedNodes = topology.nodes(ofCPUs: snapshot.cpusAllowed)
        memsAllowed = snapshot.memsAllowed
        threads = snapshot.threads.map {
            ThreadRow(tid: $0.tid, comm: $0.comm, lastCPU: $0.lastCPU, node: topology.node(ofCPU: $0.lastCPU),
                      cpusAllowed: $0.cpusAllowed)
        }
        notes = []
        guard let tally = snapshot.memory else {
            memory = nil
            backing = nil
            policies = []
            if !topology.numaEnabled {
                let rss = snapshot.residentBytes ?? 0
                verdict = "kernel without NUMA: all \(Bytes.text(rss, tenths: .always)) resident memory is on node 0"
                notes.append("this kernel has no /sys/devices/system/node and no numa_maps; VmRSS is reported as node 0")
            } else {
                verdict = "memory not read"
            }
            return
        }
        // Columns: the topology's nodes, plus any node pages were found on that the topology
        // did not list (a kernel oddity worth seeing, not hiding). Sorted and merged without a
        // Set, whose generic metadata the static front would build at run time for this.
        let columns = (nodeIDs + tally.nodes).sorted().reduce(into: [Int]()) { columns, node in
            if columns.last != node { columns.append(node) }
        }
        func perNode(_ value: (Int) -> Int) -> PerNode {
            PerNode(nodes: columns, values: columns.map(value))
        }
        let categories = NumastatCategories(
            huge: perNode { tally.bytes(.huge, on: $0) },
            heap: perNode { tally.bytes(.heap, on: $0) },
            stack: perNode { tally.bytes(.stack, on: $0) },
            private: perNode { tally.bytes(.private, on: $0) },
            total: perNode { node in MemoryTally.Category.allCases.lazy.map { tally.bytes($0, on: node) }.saturatingSum }
        )
        let backing = Backing(
            anonymous: perNode { tally.bytes(.anonymous, on: $0) },
            file: perNode { tally.bytes(.file, on: $0) },
            mixed: perNode { tally.bytes(.mixed, on: $0) }
        )
        memory = categories
        self.backing = backing
        policies = tally.policies
            .map { usage in
                PolicyRow(policy: usage.policy, mappings: usage.mappings,
                          bytes: perNode { $0 < usage.bytes.count ? usage.bytes[$0] : 0 })
            }
            .sorted { ($0.bytes.total, $0.policy.kernelSpelling) > ($1.bytes.total, $1.policy.kernelSpelling) }
        verdict = Self.verdict(backing.anonymous)
        if backing.file.total > 0 {
            notes.append("\(Bytes.text(backing.file.total, tenths: .always)) of file-backed page cache is counted apart: it is placed where first faulted, not by this process's policy")
        }
        if backing.mixed.total > 0 {
            notes.append("\(Bytes.text(backing.mixed.total, tenths: .always)) in file mappings holding both private and page-cache pages: numa_maps does not split them per node")
        }
    }

    /// "98.7% of anonymous memory (64.0 MiB) on node 1", naming the node holding most.
    static func verdict(_ anonymous: PerNode) -> String {
        let total = anonymous.total
        guard total > 0 else { return "no anonymous memory resident" }
        guard let top = anonymous.columns.max(by: { (anonymous[$0], -$0) < (anonymous[$1], -$1) }) else {
            return "no anonymous memory resident"
        }
        let others = anonymous.columns.filter { $0 != top && anonymous[$0] > 0 }
        var text = "\(Size.percent(anonymous[top], of: total))% of anonymous memory (\(Bytes.text(total, tenths: .always))) on node \(top)"
        if !others.isEmpty {
            text += "; " + others.map { "\(Size.percent(anonymous[$0], of: total))% on node \($0)" }.joinedText(separator: ", ")
        }
        return text
    }
}
