import NumaguardCore

/// Who is in one cgroup: its processes and its children's names. A memory cgroup's
/// numa_stat describes the whole cgroup and (v1's hierarchical figures, all of v2's) every
/// cgroup below it, so `CgroupSubtree` walks these to decide whether a cgroup holds a
/// workload alone (`DedicatedCgroups`).
public struct CgroupMembership: Equatable, Sendable {
    public var location: CgroupLocation
    /// The processes in the cgroup itself (cgroup.procs; v1 `tasks` mapped to processes
    /// when cgroup.procs is absent), ascending.
    public var pids: [Int]
    /// The names of the child cgroups, ascending.
    public var children: [String]

    /// At most this many children are listed: a cgroup with more is not dedicated anyway.
    public static let maximumChildren = 4096

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
        for name in try root.list(directory).sorted() {
            // A child whose name is not UTF-8 was listed under another name, which does not
            // open: skipped as gone, its processes would go unseen in the figures above it.
            guard PathText.isExact(name) else {
                throw .refused(path: root.absolute(directory), reason: "a cgroup below it has a name that is not UTF-8, so numaguard cannot read it")
            }
            guard root.exists("\(directory)/\(name)/cgroup.procs") else { continue }
            children.append(name)
            if children.count >= maximumChildren { break }
        }
        return CgroupMembership(location: location, pids: pids, children: children)
    }
}
