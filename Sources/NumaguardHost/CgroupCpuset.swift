import NumaguardCore

/// The cpuset a process lives under, v1 or v2: the CPUs and nodes the kernel lets it use,
/// whatever its own affinity and memory policy ask for. The audit checks workloads against
/// it and the launcher explains a refusal with it, so both read it here.
public struct CgroupCpuset: Equatable, Sendable {
    /// The cgroup path as /proc/PID/cgroup gives it (`/system.slice/engine.service`).
    public var path: String
    /// The effective CPUs (v2 cpuset.cpus.effective, v1 cpuset.effective_cpus); nil when unreadable.
    public var cpus: IDSet?
    /// The effective nodes (v2 cpuset.mems.effective, v1 cpuset.effective_mems); nil when unreadable.
    public var mems: IDSet?
    public var version: CgroupMount.Version
    /// The file `cpus` comes from, as messages name it.
    public var cpusFile: String
    /// The file `mems` comes from, as messages name it.
    public var memsFile: String
    /// The configured sets and flags, read only when asked for (`settings: true`).
    public var settings: CpusetSettings?

    public init(path: String, cpus: IDSet?, mems: IDSet?, version: CgroupMount.Version = .v2,
                cpusFile: String = "cpuset.cpus.effective", memsFile: String = "cpuset.mems.effective", settings: CpusetSettings? = nil) {
        self.path = path
        self.cpus = cpus
        self.mems = mems
        self.version = version
        self.cpusFile = cpusFile
        self.memsFile = memsFile
        self.settings = settings
    }

    /// From /proc/PID/cgroup alone, for the launch path, which is measured against numactl:
    /// a v2-only process (just a `0::` line) reads sys/fs/cgroup/PATH's two effective files,
    /// as before; a process with a v1 cpuset line tries the conventional
    /// sys/fs/cgroup/cpuset (and the co-mount's `a,b` directory); only when those miss, and
    /// on a hybrid host without a v1 cpuset, is mountinfo read (`CgroupHierarchy.read`).
    /// `hierarchy` is filled in when mountinfo had to be read, so a caller reading many
    /// processes (the audit) reads it once.
    /// `mountinfo` as for `CgroupHierarchy.read` (a capture reads init's, never its own).
    public static func read(_ root: HostRoot, cgroups: [CgroupEntry], hierarchy: inout CgroupHierarchy?,
                            mountinfo: [String] = CgroupHierarchy.mountinfoFiles) -> CgroupCpuset? {
        func mounted() -> CgroupCpuset? {
            let known = hierarchy ?? CgroupHierarchy.read(root, mountinfo: mountinfo)
            hierarchy = known
            return known.cpuset(for: cgroups)
        }
        if let v1 = cgroups.first(where: { $0.hierarchy != 0 && $0.controllers.contains("cpuset") }) {
            var points = ["/sys/fs/cgroup/cpuset"]
            if v1.controllers.count > 1 { points.append("/sys/fs/cgroup/" + v1.controllers.joined(separator: ",")) }
            for point in points {
                let mount = CgroupMount(version: .v1, mountPoint: point, controllers: v1.controllers, guessed: true)
                guard let directory = mount.directory(of: v1.path) else { continue }
                let location = CgroupLocation(mount: mount, controller: "cpuset", path: v1.path, directory: directory)
                let cpuset = read(root, location, settings: false)
                if cpuset.cpus != nil { return cpuset }
            }
            return mounted()
        }
        guard let entry = cgroups.first(where: { $0.hierarchy == 0 }) else { return nil }
        guard cgroups.count == 1 else { return mounted() }
        let mount = CgroupMount(version: .v2, mountPoint: "/sys/fs/cgroup", guessed: true)
        guard let directory = mount.directory(of: entry.path) else { return nil }
        return read(root, CgroupLocation(mount: mount, controller: "cpuset", path: entry.path, directory: directory), settings: false)
    }

    /// The same for a single read (the launcher, a capture).
    public static func read(_ root: HostRoot, cgroups: [CgroupEntry]) -> CgroupCpuset? {
        var hierarchy: CgroupHierarchy?
        return read(root, cgroups: cgroups, hierarchy: &hierarchy)
    }

    /// The cpuset files of one cgroup directory, in its version's spelling. A v1 kernel
    /// older than 3.16 has no effective_* files; its cpuset.cpus is then what is effective.
    static func read(_ root: HostRoot, _ location: CgroupLocation, settings wanted: Bool) -> CgroupCpuset {
        func set(_ names: [String]) -> (IDSet, String)? {
            for name in names {
                for file in location.candidates(name) {
                    // try? flattens: nil when absent, unreadable or malformed alike.
                    if let value = try? root.parseIfPresent(file, { text throws(ParseError) in try IDListParser.parse(text) }) {
                        return (value, String(PathText.names(in: file).last ?? Substring(name)))
                    }
                }
            }
            return nil
        }
        func text(_ name: String) -> String? {
            for file in location.candidates(name) {
                if let value = try? root.readTextIfPresent(file) { return String(Lex.trimmed(value)) }
            }
            return nil
        }
        let v2 = location.mount.version == .v2
        let cpuNames = v2 ? ["cpuset.cpus.effective"] : ["cpuset.effective_cpus", "cpuset.cpus"]
        let memNames = v2 ? ["cpuset.mems.effective"] : ["cpuset.effective_mems", "cpuset.mems"]
        let cpus = set(cpuNames)
        let mems = set(memNames)
        var cpuset = CgroupCpuset(path: location.path, cpus: cpus?.0, mems: mems?.0, version: location.mount.version,
                                  cpusFile: cpus?.1 ?? location.fileName(cpuNames[0]), memsFile: mems?.1 ?? location.fileName(memNames[0]))
        if wanted {
            cpuset.settings = CpusetSettings(
                cpus: set(["cpuset.cpus"])?.0, mems: set(["cpuset.mems"])?.0,
                partition: v2 ? text("cpuset.cpus.partition") : nil,
                cpuExclusive: v2 ? nil : text("cpuset.cpu_exclusive").map { $0 == "1" },
                schedLoadBalance: v2 ? nil : text("cpuset.sched_load_balance").map { $0 == "1" })
        }
        return cpuset
    }
}

/// A cpuset's configuration, beyond what is effective: an empty configured set inherits the
/// parent's (v2), a partition or an exclusive v1 cpuset keeps the CPUs from others, and a v1
/// cpuset without load balancing is how RHEL 8 isolates CPUs without isolcpus.
public struct CpusetSettings: Equatable, Sendable {
    /// cpuset.cpus as written; nil when unreadable.
    public var cpus: IDSet?
    /// cpuset.mems as written; nil when unreadable.
    public var mems: IDSet?
    /// v2 cpuset.cpus.partition (`member`, `root`, `isolated`, maybe with an `invalid` reason).
    public var partition: String?
    /// v1 cpuset.cpu_exclusive.
    public var cpuExclusive: Bool?
    /// v1 cpuset.sched_load_balance.
    public var schedLoadBalance: Bool?

    public init(cpus: IDSet? = nil, mems: IDSet? = nil, partition: String? = nil, cpuExclusive: Bool? = nil, schedLoadBalance: Bool? = nil) {
        self.cpus = cpus
        self.mems = mems
        self.partition = partition
        self.cpuExclusive = cpuExclusive
        self.schedLoadBalance = schedLoadBalance
    }
}
