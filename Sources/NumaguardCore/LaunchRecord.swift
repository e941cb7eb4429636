/// What `numaguard run --record DIR` leaves behind for each launch: enough for an audit to
/// tell "this process was started by numaguard with placement X under policy digest D" from
/// a process that merely matches a workload. pid + start time + boot id identify the process
/// (exec keeps the pid and the start time, so the record names the program, not the wrapper).
public struct LaunchRecord: Codable, Equatable, Sendable {
    public static let formatVersion = 1

    public var formatVersion: Int
    public var tool: String
    public var pid: Int
    /// /proc/PID/stat field 22, clock ticks since boot.
    public var startTime: UInt64
    public var bootID: String
    /// UTC, RFC 3339.
    public var launchedAt: String
    public var program: String
    public var arguments: [String]
    public var user: String?
    /// The affinity set before exec; nil when it was inherited unchanged.
    public var cpus: IDSet?
    /// The memory policy set before exec, in numa_maps spelling (`bind:0`).
    public var memoryPolicy: String
    /// `--membind 0 --cpunodebind 0`, or `policy FILE workload NAME`.
    public var source: String
    public var policyPath: String?
    public var policyDigest: String?
    public var workload: String?

    public init(tool: String, pid: Int, startTime: UInt64, bootID: String, launchedAt: String, program: String,
                arguments: [String], user: String?, cpus: IDSet?, memoryPolicy: String, source: String,
                policyPath: String?, policyDigest: String?, workload: String?) {
        self.formatVersion = Self.formatVersion
        self.tool = tool
        self.pid = pid
        self.startTime = startTime
        self.bootID = bootID
        self.launchedAt = launchedAt
        self.program = program
        self.arguments = arguments
        self.user = user
        self.cpus = cpus
        self.memoryPolicy = memoryPolicy
        self.source = source
        self.policyPath = policyPath
        self.policyDigest = policyDigest
        self.workload = workload
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", tool, pid, startTime = "start_time", bootID = "boot_id"
        case launchedAt = "launched_at", program, arguments, user, cpus, memoryPolicy = "memory_policy", source
        case policyPath = "policy_path", policyDigest = "policy_digest", workload
    }

    /// The record file's name: one per process, so a restart never overwrites its predecessor.
    public var fileName: String { "\(pid)-\(startTime).json" }
}
