import NumaguardCore
import NumaguardHost

/// The cpusets at the top of the cgroup tree: the root's flags and each first-level
/// group's (system.slice, user.slice, machine.slice, a container runtime's, an isolated
/// partition). Deeper groups belong to individual services and come and go with them.
enum CpusetReader {
    /// Settings by file name without `cpuset.`; the root's `cpus` and `mems` are every
    /// online CPU and node, which the topology already records.
    static let v2Settings = ["cpus", "cpus.exclusive", "cpus.partition", "mems"]
    static let v1Settings = ["cpu_exclusive", "cpus", "mem_exclusive", "mem_hardwall", "memory_migrate", "mems", "sched_load_balance"]

    static func read(_ reads: inout OptionalReads) -> [SnapshotCpuset] {
        let root = reads.root
        let base: String
        let version: Int
        var prefix = "cpuset."
        if root.exists("sys/fs/cgroup/cgroup.controllers") {
            (base, version) = ("sys/fs/cgroup", 2)
        } else if let v1 = v1Top(root) {
            (base, version, prefix) = (v1.base, 1, v1.prefix)
        } else {
            return []
        }
        let names = version == 2 ? v2Settings : v1Settings
        func settings(_ directory: String, _ cgroup: String, _ wanted: [String]) -> SnapshotCpuset? {
            var values: [String: String] = [:]
            for name in wanted {
                values[name] = reads.text("\(directory)/\(prefix)\(name)", id: "cpuset.\(Self.name(cgroup)).\(name)")
            }
            return values.isEmpty ? nil : SnapshotCpuset(cgroup: cgroup, version: version, settings: values)
        }
        var cpusets: [SnapshotCpuset] = []
        if let top = settings(base, "/", names.filter { $0 != "cpus" && $0 != "mems" }) { cpusets.append(top) }
        for child in reads.list(base, id: "cpuset") where root.exists("\(base)/\(child)/\(prefix)cpus") {
            if let cpuset = settings("\(base)/\(child)", "/\(child)", names) { cpusets.append(cpuset) }
        }
        return cpusets
    }

    /// The top of the v1 cpuset hierarchy (from init's mountinfo, else the conventional
    /// /sys/fs/cgroup/cpuset) and its file prefix: none under `noprefix`. Only a mount of
    /// the whole hierarchy (root `/`) shows the top.
    static func v1Top(_ root: HostRoot) -> (base: String, prefix: String)? {
        let hierarchy = CgroupHierarchy.read(root, mountinfo: CgroupHierarchy.hostMountinfoFiles)
        let mounts = hierarchy.mounts.filter { $0.version == .v1 && $0.controllers.contains("cpuset") && $0.root == "/" }
        for mount in mounts {
            let location = CgroupLocation(mount: mount, controller: "cpuset", path: "/", directory: mount.mountPoint)
            for file in location.candidates("cpuset.cpus") where root.exists(file) {
                return (location.directory, file.hasSuffix("/cpuset.cpus") ? "cpuset." : "")
            }
        }
        // No mountinfo, or one without the cpuset (a capture): the conventional place.
        for (file, prefix) in [("cpuset.cpus", "cpuset."), ("cpus", "")] where root.exists("sys/fs/cgroup/cpuset/\(file)") {
            return ("sys/fs/cgroup/cpuset", prefix)
        }
        return nil
    }

    /// The cgroup as a fact id component: `root` for `/`, else its name.
    static func name(_ cgroup: String) -> String {
        cgroup == "/" ? "root" : String(cgroup.dropFirst())
    }
}
