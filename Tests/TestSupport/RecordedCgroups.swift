import Foundation

/// The two recorded 2-node 6.1 guests with real cgroups (Tests/Fixtures/linux-6.1-2node-cgroup-v2
/// and -v1, recorded by scripts/vm/record-fixtures.sh; see their README.md): the same
/// processes in the same cgroups, once under cgroup v2 and once under v1 cpuset and memory
/// hierarchies. `/engine` (cpuset CPUs 2-3, memory node 1) holds the engine alone
/// (`numactl --cpunodebind=1 --membind=1 probe 32`); `/shared` holds a process with the
/// engine's command line interleaved over both nodes and `probe 8`; `probe 16` runs in the
/// root cgroup. Each process entered its cgroup before exec, so its memory is charged there.
public struct RecordedCgroupTree: Sendable, CustomStringConvertible {
    public var fixture: String
    public var version: Int
    /// `numactl --cpunodebind=1 --membind=1 probe 32`, alone in /engine.
    public var engine: Int
    /// `numactl --interleave=0,1 probe 32` in /shared: the engine's command line.
    public var sharedEngine: Int
    /// `probe 8` in /shared.
    public var sharedOther: Int
    /// `probe 16` in the root cgroup.
    public var plain: Int

    public static let v2 = RecordedCgroupTree(fixture: "linux-6.1-2node-cgroup-v2", version: 2, engine: 125, sharedEngine: 139, sharedOther: 151, plain: 155)
    public static let v1 = RecordedCgroupTree(fixture: "linux-6.1-2node-cgroup-v1", version: 1, engine: 129, sharedEngine: 142, sharedOther: 152, plain: 158)
    public static let all = [v2, v1]

    public var description: String { fixture }
    public var path: String { Fixtures.path(fixture) }

    /// The memory controller's directory of `cgroup` (`/engine`), relative to the root.
    public func memoryDirectory(_ cgroup: String) -> String {
        version == 2 ? "sys/fs/cgroup\(cgroup)" : "sys/fs/cgroup/memory\(cgroup)"
    }

    /// The recorded memory.numa_stat of `cgroup`, read without numaguard's parser: each
    /// counter's per-node figures in bytes (v1 prints pages of the guest's 4 KiB, v2 bytes).
    /// On v1 the counters are the hierarchical ones (numaguard's reading), under their v2 names.
    public func numaStat(_ cgroup: String) throws -> [String: [Int: Int]] {
        let text = try String(contentsOfFile: path + "/" + memoryDirectory(cgroup) + "/memory.numa_stat", encoding: .utf8)
        var counters: [String: [Int: Int]] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let head = words.first else { continue }
            var name = String(head.split(separator: "=").first ?? head)
            if version == 1 {
                guard name.hasPrefix("hierarchical_") else { continue }
                name.removeFirst("hierarchical_".count)
            }
            var nodes: [Int: Int] = [:]
            for word in words.dropFirst() {
                let parts = word.dropFirst().split(separator: "=")
                guard word.hasPrefix("N"), parts.count == 2, let node = Int(parts[0]), let value = Int(parts[1]) else {
                    throw CocoaError(.fileReadCorruptFile, userInfo: [NSDebugDescriptionErrorKey: "\(fixture) \(cgroup): \(line)"])
                }
                nodes[node] = version == 1 ? value * 4096 : value
            }
            counters[name] = nodes
        }
        return counters
    }

    /// The PIDs of a cgroup's cgroup.procs in the memory hierarchy, as recorded.
    public func processes(_ cgroup: String) throws -> [Int] {
        try String(contentsOfFile: path + "/" + memoryDirectory(cgroup) + "/cgroup.procs", encoding: .utf8)
            .split(separator: "\n").compactMap { Int($0) }
    }

    /// A process's recorded numa_maps, read without numaguard's parser.
    public func numaMaps(_ pid: Int) throws -> NumaMapsPages {
        NumaMapsPages(try String(contentsOfFile: path + "/proc/\(pid)/numa_maps", encoding: .utf8))
    }
}

/// Anonymous pages of numa_maps as the kernel prints them: per node where numa_maps says
/// which node (a mapping with no file, or a private file mapping wholly copied on write), and
/// the copied-on-write pages of the other private file mappings, whose node numa_maps does
/// not tell apart from their page-cache pages' (`N1=` counts both).
public struct NumaMapsPages: Sendable {
    /// Pages per node of the mappings that hold anonymous pages only.
    public var anonymous: [Int: Int] = [:]
    /// `anon=` pages of file mappings that also hold page-cache pages: on some node.
    public var unplaced = 0
    /// Every `anon=` page.
    public var anonTotal = 0

    public init(_ text: String) {
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            let file = words.contains { $0.hasPrefix("file=") }
            let anon = words.first { $0.hasPrefix("anon=") }.flatMap { Int($0.dropFirst(5)) } ?? 0
            var nodes: [Int: Int] = [:]
            for word in words where word.hasPrefix("N") {
                let parts = word.dropFirst().split(separator: "=")
                if parts.count == 2, let node = Int(parts[0]), let pages = Int(parts[1]) { nodes[node] = pages }
            }
            anonTotal += anon
            if !file || (anon > 0 && anon >= nodes.values.reduce(0, +)) {
                for (node, pages) in nodes { anonymous[node, default: 0] += pages }
            } else {
                unplaced += anon
            }
        }
    }

    /// The sum over processes.
    public static func + (lhs: NumaMapsPages, rhs: NumaMapsPages) -> NumaMapsPages {
        var sum = lhs
        sum.anonymous.merge(rhs.anonymous, uniquingKeysWith: +)
        sum.unplaced += rhs.unplaced
        sum.anonTotal += rhs.anonTotal
        return sum
    }
}
