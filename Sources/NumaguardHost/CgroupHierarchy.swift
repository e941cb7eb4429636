#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NumaguardCore

/// The cgroup hierarchies of a host, v1, v2 or hybrid, and the one way to find a
/// process's cgroup directory for a controller in them.
///
/// Usage: `let cgroups = CgroupHierarchy.read(root)` once (one mountinfo read), then per
/// process `cgroups.cgroups(of: pid)` and `cpuset(for:)`, `numaStat(for:)`,
/// `membership(for:)`. Every read goes through the `HostRoot`, so a captured host or a
/// fixture tree answers like the live one.
public struct CgroupHierarchy: Sendable {
    public let root: HostRoot
    /// The cgroup mounts, from mountinfo or (when unreadable) the conventional layout.
    public var mounts: [CgroupMount]
    /// Where `mounts` came from: `proc/self/mountinfo`, `proc/1/mountinfo` or
    /// `the conventional /sys/fs/cgroup layout`.
    public var source: String

    public init(root: HostRoot, mounts: [CgroupMount], source: String) {
        self.root = root
        self.mounts = mounts
        self.source = source
    }

    public static let mountinfoFiles = ["proc/self/mountinfo", "proc/1/mountinfo"]
    /// init's first: what a snapshot or a capture of the host wants.
    public static let hostMountinfoFiles = ["proc/1/mountinfo", "proc/self/mountinfo"]

    /// Reads this process's mountinfo (its mount namespace is the one paths are opened in),
    /// else init's (a captured host has no `self`), else guesses the conventional layout.
    /// `mountinfo` names the files to try: a snapshot of the host asks for init's first.
    public static func read(_ root: HostRoot, mountinfo: [String] = mountinfoFiles) -> CgroupHierarchy {
        for file in mountinfo {
            if let text = try? root.readTextIfPresent(file), let mounts = try? MountInfoParser.cgroupMounts(text) {
                return CgroupHierarchy(root: root, mounts: mounts, source: file)
            }
        }
        return conventional(root)
    }

    /// The layout systemd and every distribution use, probed: v2 at /sys/fs/cgroup (its root
    /// holds cgroup.controllers), else a v1 directory per controller group (`cpuset`,
    /// `cpu,cpuacct`, `systemd` for `name=systemd`) and v2 at /sys/fs/cgroup/unified.
    public static func conventional(_ root: HostRoot) -> CgroupHierarchy {
        let source = "the conventional /sys/fs/cgroup layout"
        if root.exists("sys/fs/cgroup/cgroup.controllers") {
            return CgroupHierarchy(root: root, mounts: [CgroupMount(version: .v2, mountPoint: "/sys/fs/cgroup", guessed: true)], source: source)
        }
        var mounts: [CgroupMount] = []
        for name in ((try? root.list("sys/fs/cgroup")) ?? []).sorted().prefix(64) {
            if name == "unified" {
                mounts.append(CgroupMount(version: .v2, mountPoint: "/sys/fs/cgroup/unified", guessed: true))
            } else if name == "systemd" || name.split(separator: ",").allSatisfy({ v1Controllers.contains(String($0)) }) {
                let controllers = name == "systemd" ? ["name=systemd"] : name.split(separator: ",").map(String.init)
                mounts.append(CgroupMount(version: .v1, mountPoint: "/sys/fs/cgroup/\(name)", controllers: controllers, guessed: true))
            }
        }
        return CgroupHierarchy(root: root, mounts: mounts, source: source)
    }

    /// The v1 controllers (cgroups(7)): directory names the conventional layout may hold.
    static let v1Controllers: Set<String> = [
        "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "misc", "net_cls", "net_prio",
        "perf_event", "pids", "rdma",
    ]

    /// /proc/PID/cgroup: one line per hierarchy.
    public func cgroups(of pid: Int) throws(HostError) -> [CgroupEntry] {
        try root.parse("proc/\(pid)/cgroup", CgroupEntry.parse)
    }

    /// Where `controller`'s files for a process with `cgroups` are: its v1 hierarchy when
    /// the controller is bound to one, else the v2 hierarchy. nil when neither is mounted
    /// (or the cgroup lies outside what is mounted).
    public func location(of controller: String, in cgroups: [CgroupEntry]) -> CgroupLocation? {
        if let entry = cgroups.first(where: { $0.hierarchy != 0 && $0.controllers.contains(controller) }) {
            for mount in mounts where mount.version == .v1 && mount.controllers.contains(controller) {
                if let directory = mount.directory(of: entry.path) {
                    return CgroupLocation(mount: mount, controller: controller, path: entry.path, directory: directory)
                }
            }
            return nil
        }
        guard let entry = cgroups.first(where: { $0.hierarchy == 0 }) else { return nil }
        for mount in mounts where mount.version == .v2 {
            if let directory = mount.directory(of: entry.path) {
                return CgroupLocation(mount: mount, controller: controller, path: entry.path, directory: directory)
            }
        }
        return nil
    }

    /// The cpuset a process with `cgroups` lives under; `settings` adds the configured sets
    /// and flags (snapshots and watch want them, the audit does not).
    public func cpuset(for cgroups: [CgroupEntry], settings: Bool = false) -> CgroupCpuset? {
        guard let location = location(of: "cpuset", in: cgroups) else { return nil }
        return CgroupCpuset.read(root, location, settings: settings)
    }

    /// memory.numa_stat of the process's memory cgroup, in bytes per node (v1 pages × the
    /// page size). nil when the memory controller is not mounted or the file is absent.
    public func numaStat(for cgroups: [CgroupEntry], pageKiB: Int = CgroupHierarchy.pageKiB) throws(HostError) -> NumaStat? {
        guard let location = location(of: "memory", in: cgroups) else { return nil }
        for file in location.candidates("memory.numa_stat") {
            if let text = try root.readTextIfPresent(file) {
                return try root.parsed(text, file) { text throws(ParseError) in try NumaStatParser.parse(text, pageKiB: pageKiB) }
            }
        }
        return nil
    }

    /// Who is in the process's memory cgroup (numa_stat's scope): its processes and whether
    /// it has child cgroups, whose memory its hierarchical figures include.
    public func membership(for cgroups: [CgroupEntry], controller: String = "memory") throws(HostError) -> CgroupMembership? {
        guard let location = location(of: controller, in: cgroups) else { return nil }
        return try CgroupMembership.read(root, location)
    }

    /// The page size of the machine numaguard runs on, which is the host's unless the root
    /// is a capture from another architecture.
    public static var pageKiB: Int { max(1, Int(getpagesize()) / 1024) }
}

/// One controller's directory for one cgroup.
public struct CgroupLocation: Equatable, Sendable {
    public var mount: CgroupMount
    public var controller: String
    /// The cgroup path as /proc/PID/cgroup gives it (`/system.slice/engine.service`).
    public var path: String
    /// The directory relative to the host root (`sys/fs/cgroup/cpuset/trading`).
    public var directory: String

    public init(mount: CgroupMount, controller: String, path: String, directory absolute: String) {
        self.mount = mount
        self.controller = controller
        self.path = path
        self.directory = String(Substring(absolute.utf8.drop { $0 == 0x2F }))
    }

    /// The file name the kernel gives `name` (`cpuset.cpus`) under this mount: without the
    /// controller prefix under v1 `noprefix`.
    public func fileName(_ name: String) -> String {
        guard mount.version == .v1, mount.noprefix, name.hasPrefix(controller + ".") else { return name }
        return String(name.dropFirst(controller.count + 1))
    }

    /// Relative paths to try for `name`, in order: both spellings when the mount was guessed.
    public func candidates(_ name: String) -> [String] {
        var names = [fileName(name)]
        if mount.version == .v1, mount.guessed, name.hasPrefix(controller + ".") {
            names.append(String(name.dropFirst(controller.count + 1)))
        }
        return names.map { "\(directory)/\($0)" }
    }
}
