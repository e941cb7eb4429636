import NumaguardCore

/// The cgroup v2 cpuset a process lives under: the CPUs and nodes the kernel lets it use,
/// whatever its own affinity and memory policy ask for. The audit checks workloads against
/// it and the launcher explains a refusal with it, so both read it here.
public struct CgroupCpuset: Equatable, Sendable {
    /// The cgroup path as /proc/PID/cgroup gives it (`/system.slice/engine.service`).
    public var path: String
    /// cpuset.cpus.effective; nil when unreadable.
    public var cpus: IDSet?
    /// cpuset.mems.effective; nil when unreadable.
    public var mems: IDSet?

    /// nil on a cgroup v1 host (no hierarchy-0 entry): v1 cpusets are not read.
    public static func read(_ root: HostRoot, cgroups: [CgroupEntry]) -> CgroupCpuset? {
        guard let entry = cgroups.first(where: { $0.hierarchy == 0 }) else { return nil }
        let directory = "sys/fs/cgroup" + (entry.path == "/" ? "" : entry.path)
        func set(_ file: String) -> IDSet? {
            try? root.parse("\(directory)/\(file)") { text throws(ParseError) in try IDListParser.parse(text) }
        }
        return CgroupCpuset(path: entry.path, cpus: set("cpuset.cpus.effective"), mems: set("cpuset.mems.effective"))
    }
}
