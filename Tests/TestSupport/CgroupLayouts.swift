import Foundation

/// A process in a cgroup with a cpuset and a memory controller, written in each layout the
/// cgroup reader must understand, the way the kernel lays it out (mountinfo from proc/1,
/// since a host root has no `self`; v1 lines as on RHEL 8 and on the development machine).
public enum CgroupLayout: String, CaseIterable, Sendable {
    /// cgroup v2 alone at /sys/fs/cgroup.
    case v2
    /// v1 hierarchies per controller (cpu,cpuacct co-mounted), no v2.
    case v1
    /// v1 hierarchies and v2 at /sys/fs/cgroup/unified (systemd's hybrid, this machine).
    case hybrid
    /// v1 with the cpuset hierarchy mounted `noprefix` (`cpus`, not `cpuset.cpus`).
    case v1NoPrefix

    public static let v1Mounts = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd

        """

    /// The mountinfo lines of the layout.
    public var mountinfo: String {
        let head = "22 27 0:21 / /proc rw,relatime - proc proc rw\n23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
        switch self {
        case .v2: return head + "31 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
        case .v1: return head + Self.v1Mounts
        case .hybrid: return head + Self.v1Mounts + "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
        case .v1NoPrefix: return head + Self.v1Mounts.replacingOccurrences(of: "rw,cpuset", with: "rw,noprefix,cpuset")
        }
    }

    /// /proc/PID/cgroup of a process in `cgroup` (for every controller).
    public func procCgroup(_ cgroup: String) -> String {
        let v1 = "4:name=systemd:\(cgroup)\n3:memory:\(cgroup)\n2:cpuset:\(cgroup)\n1:cpu,cpuacct:\(cgroup)\n"
        switch self {
        case .v2: return "0::\(cgroup)\n"
        case .v1, .v1NoPrefix: return v1
        case .hybrid: return v1 + "0::\(cgroup)\n"
        }
    }

    /// The cgroup's cpuset directory, relative.
    public func cpusetDirectory(_ cgroup: String) -> String {
        self == .v2 ? "sys/fs/cgroup\(cgroup)" : "sys/fs/cgroup/cpuset\(cgroup)"
    }

    /// The cgroup's memory directory, relative.
    public func memoryDirectory(_ cgroup: String) -> String {
        self == .v2 ? "sys/fs/cgroup\(cgroup)" : "sys/fs/cgroup/memory\(cgroup)"
    }

    /// The effective-CPUs file as the kernel names it in this layout.
    public var effectiveCPUsFile: String {
        switch self {
        case .v2: "cpuset.cpus.effective"
        case .v1, .hybrid: "cpuset.effective_cpus"
        case .v1NoPrefix: "effective_cpus"
        }
    }

    public var effectiveMemsFile: String {
        switch self {
        case .v2: "cpuset.mems.effective"
        case .v1, .hybrid: "cpuset.effective_mems"
        case .v1NoPrefix: "effective_mems"
        }
    }

    /// Writes mountinfo (proc/1), the cgroup files of `cgroup` and of the root, and
    /// /proc/PID/cgroup for each of `pids` into the host root at `root`. Memory: `anonPages`
    /// and `filePages` 4 KiB pages on node 0 and 1 (v1 prints pages, v2 bytes).
    public func write(into root: URL, cgroup: String = "/trading", cpus: String, mems: String, pids: [Int],
                      anonPages: (Int, Int) = (10, 20), filePages: (Int, Int) = (1, 2)) throws {
        func put(_ relative: String, _ text: String) throws {
            let url = root.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: false, encoding: .utf8)
        }
        try put("proc/1/mountinfo", mountinfo)
        for pid in pids { try put("proc/\(pid)/cgroup", procCgroup(cgroup)) }
        let procs = pids.map { "\($0)\n" }.joined()
        let cpuset = cpusetDirectory(cgroup)
        let memory = memoryDirectory(cgroup)
        let prefix = self == .v1NoPrefix ? "" : "cpuset."
        if self == .v2 {
            try put("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
            try put("sys/fs/cgroup/cgroup.procs", "1\n")
            try put("\(cpuset)/cpuset.cpus", "\(cpus)\n")
            try put("\(cpuset)/cpuset.mems", "\(mems)\n")
            try put("\(cpuset)/cpuset.cpus.partition", "member\n")
        } else {
            try put("sys/fs/cgroup/cpuset/\(prefix)cpus", "0-3\n")
            try put("sys/fs/cgroup/cpuset/\(prefix)mems", "0-1\n")
            try put("sys/fs/cgroup/cpuset/\(prefix)cpu_exclusive", "1\n")
            try put("sys/fs/cgroup/cpuset/\(prefix)sched_load_balance", "1\n")
            try put("sys/fs/cgroup/cpuset/cgroup.procs", "1\n")
            try put("sys/fs/cgroup/memory/cgroup.procs", "1\n")
            try put("\(cpuset)/\(prefix)cpus", "\(cpus)\n")
            try put("\(cpuset)/\(prefix)mems", "\(mems)\n")
            try put("\(cpuset)/\(prefix)cpu_exclusive", "1\n")
            try put("\(cpuset)/\(prefix)sched_load_balance", "0\n")
            try put("\(cpuset)/cgroup.procs", procs)
            if self == .hybrid { try put("sys/fs/cgroup/unified/cgroup.procs", "1\n") }
        }
        try put("\(cpuset)/\(effectiveCPUsFile)", "\(cpus)\n")
        try put("\(cpuset)/\(effectiveMemsFile)", "\(mems)\n")
        try put("\(memory)/cgroup.procs", procs)
        let page = 4096
        let numaStat = self == .v2
            ? "anon N0=\(anonPages.0 * page) N1=\(anonPages.1 * page)\nfile N0=\(filePages.0 * page) N1=\(filePages.1 * page)\n"
                + "kernel_stack N0=16384 N1=0\nworkingset_refault_anon N0=3 N1=0\n"
            : "total=\(anonPages.0 + anonPages.1 + filePages.0 + filePages.1) N0=\(anonPages.0 + filePages.0) N1=\(anonPages.1 + filePages.1)\n"
                + "file=\(filePages.0 + filePages.1) N0=\(filePages.0) N1=\(filePages.1)\n"
                + "anon=\(anonPages.0 + anonPages.1) N0=\(anonPages.0) N1=\(anonPages.1)\n"
                + "unevictable=0 N0=0 N1=0\n"
                + "hierarchical_total=\(anonPages.0 + anonPages.1 + filePages.0 + filePages.1) N0=\(anonPages.0 + filePages.0) N1=\(anonPages.1 + filePages.1)\n"
                + "hierarchical_file=\(filePages.0 + filePages.1) N0=\(filePages.0) N1=\(filePages.1)\n"
                + "hierarchical_anon=\(anonPages.0 + anonPages.1) N0=\(anonPages.0) N1=\(anonPages.1)\n"
                + "hierarchical_unevictable=0 N0=0 N1=0\n"
        try put("\(memory)/memory.numa_stat", numaStat)
    }
}
