import NumaguardCore

/// Who is in a cgroup: whether it holds a workload alone. A memory cgroup's numa_stat (and
/// a cpuset's CPUs) describe the whole cgroup, so they speak for a workload only when the
/// cgroup holds nothing else; v1's hierarchical figures and all of v2's also include every
/// child cgroup, so the children are listed too.
public struct CgroupMembership: Equatable, Sendable {
    public var location: CgroupLocation
    /// The processes in the cgroup itself (cgroup.procs; v1 `tasks` mapped to processes
    /// when cgroup.procs is absent), ascending.
    public var pids: [Int]
    /// The names of the child cgroups, ascending.
    public var children: [String]

    /// At most this many children are listed: a cgroup with more is not dedicated anyway.
    public static let maximumChildren = 4096

    /// Whether the cgroup holds only processes of `workload`: `exactly` when every one of
    /// them is in it too. Either way a cgroup with children is not dedicated, since its
    /// figures include the children's.
    public func isDedicated(to workload: Set<Int>, exactly: Bool = false) -> Bool {
        guard children.isEmpty, !pids.isEmpty, pids.allSatisfy(workload.contains) else { return false }
        return !exactly || Set(pids) == workload
    }

    /// The processes in the cgroup that are not the workload's.
    public func foreign(to workload: Set<Int>) -> [Int] { pids.filter { !workload.contains($0) } }

    static func read(_ root: HostRoot, _ location: CgroupLocation) throws(HostError) -> CgroupMembership {
        let directory = location.directory
        var pids: [Int]
        if let procs = try root.parseIfPresent("\(directory)/cgroup.procs", CgroupProcsParser.parse) {
            pids = procs
        } else {
            // v1 before cgroup.procs (2.6.35) lists threads: a thread stands for its process,
            // found through /proc/TID/status's Tgid.
            let tasks = try root.parse("\(directory)/tasks", CgroupProcsParser.parse)
            pids = tasks.map { tid in
                let status = try? root.readSmallText("proc/\(tid)/status")
                return status.flatMap { ProcStatus.value(of: "Tgid", in: $0) }.flatMap { Lex.decimal(Lex.trimmed($0)) } ?? tid
            }
        }
        pids = Array(Set(pids)).sorted()
        var children: [String] = []
        for name in try root.list(directory).sorted() where root.exists("\(directory)/\(name)/cgroup.procs") {
            children.append(name)
            if children.count >= maximumChildren { break }
        }
        return CgroupMembership(location: location, pids: pids, children: children)
    }
}
