import NumaguardCore

/// A validated policy: what the host and its workloads must look like. Built only by
/// `PolicyLoader`, so every value here has passed the checks its error messages describe.
public struct Policy: Equatable, Sendable {
    public var version: Int
    public var host: HostPolicy
    public var workloads: [Workload]
    public var reservations: [Reservation]
    public var waivers: [Waiver]
    public var watch: WatchSettings?
    /// `devices:` (PolicyLocality.swift).
    public var devices: [DeviceRule] = []
    /// `reserve:` items with `cpus` (node reservations are `reservations`).
    public var cpuReservations: [CPUReservation] = []

    public init(version: Int = 1, host: HostPolicy = HostPolicy(), workloads: [Workload] = [],
                reservations: [Reservation] = [], waivers: [Waiver] = [], watch: WatchSettings? = nil) {
        self.version = version
        self.host = host
        self.workloads = workloads
        self.reservations = reservations
        self.waivers = waivers
        self.watch = watch
    }

    public func workload(named name: String) -> Workload? { workloads.first { $0.name == name } }
}

public struct HostPolicy: Equatable, Sendable {
    public var kernel = KernelPolicy()
    public var topology: TopologyPolicy?
    public var hugePages: [HugePageRequirement] = []
    public var headroom: [Headroom] = []
    /// comm names of competing placement actors (numad, ...) that must not run.
    public var forbidProcesses: [String] = []
    public var isolation: IsolationPolicy?
    public var irqbalance: IRQBalancePolicy?

    public init() {}
}

/// kernel.numa_balancing as a policy speaks of it. The sysctl is a bitmask, so "off" means
/// exactly 0: bit 1 (tiering) alone is still balancing.
public enum NumaBalancing: String, Equatable, Sendable, CaseIterable {
    case off, normal, tiering

    public var value: Int {
        switch self {
        case .off: 0
        case .normal: 1
        case .tiering: 2
        }
    }
}

public struct KernelPolicy: Equatable, Sendable {
    public var numaBalancing: NumaBalancing?
    public var zoneReclaimMode: Int?
    public var transparentHugepage: String?
    public var cmdlineRequire: [String] = []
    public var cmdlineForbid: [String] = []

    public init() {}
}

public struct TopologyPolicy: Equatable, Sendable {
    public var nodes: Int?
    public var cpus: [Int: IDSet] = [:]
    /// Bytes of MemTotal each node must have at least.
    public var minMemory: [Int: Int] = [:]
    /// Expected node*/distance rows.
    public var distances: [Int: [Int]] = [:]

    public init() {}
}

public struct HugePageRequirement: Equatable, Sendable {
    public var node: Int
    public var sizeKiB: Int
    public var count: Int
}

/// Free memory a node must keep: a size, a share of the node, or a multiple of what the
/// protected workloads hold resident there (the "about 2× steady state" rule).
public enum FreeMemoryRule: Equatable, Sendable, CustomStringConvertible {
    case bytes(Int)
    case percent(Double)
    case protectedMultiple(Double)

    public var description: String {
        switch self {
        case let .bytes(bytes): "\(bytes) bytes"
        case let .percent(percent): "\(percent)%"
        case let .protectedMultiple(factor): "\(factor)x protected"
        }
    }
}

public struct Headroom: Equatable, Sendable {
    public var node: Int
    public var minFree: FreeMemoryRule
}

/// How a workload's processes are recognised. Every given field must match.
public struct ProcessMatch: Hashable, Sendable {
    public var comm: String?
    public var exe: String?
    /// A regular expression searched in the command line joined by spaces.
    public var cmdline: String?
    /// A cgroup path prefix (cgroup v2 path from /proc/PID/cgroup).
    public var cgroup: String?
    /// A systemd unit name, matched as the last component of the cgroup path.
    public var systemdUnit: String?
    /// A user name or numeric uid.
    public var user: String?

    public init(comm: String? = nil, exe: String? = nil, cmdline: String? = nil, cgroup: String? = nil,
                systemdUnit: String? = nil, user: String? = nil) {
        self.comm = comm
        self.exe = exe
        self.cmdline = cmdline
        self.cgroup = cgroup
        self.systemdUnit = systemdUnit
        self.user = user
    }

    public var isEmpty: Bool { [comm, exe, cmdline, cgroup, systemdUnit, user].allSatisfy { $0 == nil } }
}

public enum CPUPlacement: Equatable, Sendable {
    case nodes(IDSet)
    case cpulist(IDSet)
}

public struct MemoryPlacement: Equatable, Sendable {
    /// The mode the workload's anonymous memory must be under.
    public var mode: MemoryPolicy.Mode
    public var nodes: IDSet
    /// The largest share of anonymous memory allowed off `nodes`, 0...1.
    public var maxRemote: Double?
    /// Interleave is forbidden unless this is set (it leaks in through inheritance).
    public var allowInterleave: Bool
    /// False opts the workload out of numa_maps reads (they hold its mmap lock).
    public var scan: Bool
    /// Devices named in `nodes` (`netdev:ens1f0`), resolved to their node on the audited host
    /// and added to `nodes` before any check judges the placement.
    public var nodeDevices: [DeviceSpecifier] = []

    public init(mode: MemoryPolicy.Mode, nodes: IDSet, maxRemote: Double? = nil, allowInterleave: Bool = false, scan: Bool = true) {
        self.mode = mode
        self.nodes = nodes
        self.maxRemote = maxRemote
        self.allowInterleave = allowInterleave
        self.scan = scan
    }
}

public struct Workload: Equatable, Sendable {
    public var name: String
    public var match: ProcessMatch
    /// Never live-migrated: the fix is a restart through `numaguard run`.
    public var protected: Bool
    /// How many processes must match; nil when the policy says nothing.
    public var running: RunningCount?
    public var cpus: CPUPlacement?
    public var memory: MemoryPlacement?
    /// Devices named in `cpus.nodes`, resolved like `MemoryPlacement.nodeDevices`.
    public var cpuNodeDevices: [DeviceSpecifier] = []

    public init(name: String, match: ProcessMatch, protected: Bool = false, running: RunningCount? = nil,
                cpus: CPUPlacement? = nil, memory: MemoryPlacement? = nil) {
        self.name = name
        self.match = match
        self.protected = protected
        self.running = running
        self.cpus = cpus
        self.memory = memory
    }

    /// The same CPU and memory placement as `other` (two such workloads may share a match).
    public func hasPlacement(of other: Workload) -> Bool {
        cpus == other.cpus && memory == other.memory && cpuNodeDevices == other.cpuNodeDevices
    }
}

/// `running: {min, max}`: how many processes a workload must have. A missing `max` is no upper
/// bound (nil), not a large number standing for one, so `max: 1000000` written out is a bound
/// like any other.
public struct RunningCount: Equatable, Sendable {
    public var minimum: Int
    public var maximum: Int?

    public init(minimum: Int = 0, maximum: Int? = nil) {
        self.minimum = minimum
        self.maximum = maximum
    }

    public func contains(_ count: Int) -> Bool {
        count >= minimum && maximum.map { count <= $0 } ?? true
    }
}

/// A node kept for named workloads: anyone else may hold at most `maxForeignMemory` there.
public struct Reservation: Equatable, Sendable {
    public var node: Int
    public var workloads: [String]
    public var maxForeignMemory: Int
}

public struct Waiver: Equatable, Sendable {
    /// A check ID, or a prefix ending in `.*` (e.g. `workload.batch.*`).
    public var check: String
    public var reason: String
    public var expires: Day

    public func covers(_ checkID: String) -> Bool {
        if check.hasSuffix(".*") { return checkID.hasPrefix(String(check.dropLast(1))) }
        return checkID == check
    }
}

/// `watch:` as written; `numaguard watch` fills what is absent with its documented defaults.
public struct WatchSettings: Equatable, Sendable {
    public var intervalSeconds: Double
    public var hintFaultsPerSecond: Double?
    public var pagesMigratedPerSecond: Double?
    public var remoteFaultRatio: Double?
    public var dwellSeconds: Double?
    /// Hysteresis: a regime is left only once its figures fall below this share (0...1) of
    /// the thresholds that entered it.
    public var exitShare: Double? = nil
    /// SAFE: page migrations failing at or above this rate.
    public var migrationFailuresPerSecond: Double? = nil
    /// The shortest time between two numa_maps reads of one protected process (each read
    /// holds its mmap lock while the kernel walks its page tables).
    public var numaMapsPeriodSeconds: Double? = nil
    /// Opt-in: read the numa_maps of protected processes whose memory no dedicated cgroup
    /// accounts for. Off by default, since each read holds the target's mmap lock while the
    /// kernel walks its page tables (milliseconds for a large process, a stall it feels).
    public var numaMaps: Bool = false
    /// `watch.isolation_period`: how often the threads on isolated and reserved CPUs and the
    /// declared devices' IRQ affinities are read (every thread's stat and status: too many
    /// files for every interval). Default 10s.
    public var isolationPeriodSeconds: Double? = nil
    /// Where /metrics is served.
    public var listen: ListenAddress? = nil
}
